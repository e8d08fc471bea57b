// Callbacks run on the worker thread. One that calls flush(), shutdown() or destroys the client
// must neither deadlock nor terminate: each returns at once with a documented result, and the
// worker stops once the callback returns.
#include <atomic>
#include <memory>

#include "client_fixture.hpp"

namespace opsmeter::test {
namespace {

// A result from a call made inside a callback, and how long the call took.
struct FromCallback {
  std::atomic<bool> done{false};
  std::atomic<int> result{-1};
  std::atomic<std::int64_t> took_ms{-1};

  template <typename Call>
  void run(Call call) {
    if (done.exchange(true)) return;
    const auto start = Clock::now();
    result = static_cast<int>(call());
    took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  }
};

// A call that must return "at once" may still be descheduled on a loaded machine; a call that
// waited would take its whole timeout (10 s here).
constexpr std::int64_t kPromptMs = 2000;

TEST_F(ClientIntegration, ShutdownFromResultCallbackStopsTheWorkerWithoutDeadlock) {
  Client* self = nullptr;
  FromCallback inner;
  Options o = options();
  o.max_in_flight = 1;
  o.on_result = [&](const DeliveryReport&) { inner.run([&] { return self->shutdown(10s); }); };
  Client client = test::make_client(o);
  self = &client;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client.record(make_record()).queued());
  ASSERT_TRUE(eventually([&] { return inner.took_ms.load() >= 0; }));
  EXPECT_EQ(inner.result.load(), static_cast<int>(FlushResult::kTimedOut));
  EXPECT_LT(inner.took_ms.load(), kPromptMs);
  EXPECT_EQ(client.record(make_record()).reason, DropReason::kShutdown);
  client.shutdown(10s);  // joins the stopped worker
  const Stats s = client.stats();
  EXPECT_EQ(s.pending(), 0u);
  EXPECT_GE(s.delivered, 1u);
  EXPECT_EQ(s.delivered + s.dropped_for(DropReason::kShutdown), 21u);
  expect_identity(s);
}

TEST_F(ClientIntegration, FlushFromLogCallbackReturnsAtOnce) {
  Client* self = nullptr;
  FromCallback inner;
  Options o = options();
  o.on_log = [&](LogLevel, std::string_view line) {
    if (line.find("Telemetry throttled") != std::string_view::npos) {
      inner.run([&] { return self->flush(10s); });
    }
  };
  server_.push_fault(Fault::throttle("1"));
  Client client = test::make_client(o);
  self = &client;
  ASSERT_TRUE(client.record(make_record()).queued());
  ASSERT_TRUE(eventually([&] { return inner.took_ms.load() >= 0; }));
  EXPECT_EQ(inner.result.load(), static_cast<int>(FlushResult::kTimedOut));
  EXPECT_LT(inner.took_ms.load(), kPromptMs);
  EXPECT_EQ(client.flush(kGenerous), FlushResult::kFlushed);  // the worker carried on
  EXPECT_EQ(client.stats().delivered, 1u);
}

TEST_F(ClientIntegration, ShutdownFromPauseCallbackWhileTheOwnerShutsDown) {
  Client* self = nullptr;
  FromCallback inner;
  Options o = options();
  o.on_pause = [&](const PauseEvent&) {
    // Wait (with a deadline) until the owner is inside shutdown(), then shut down from here too.
    eventually([&] { return self->status().shut_down; });
    inner.run([&] { return self->shutdown(10s); });
  };
  server_.set_plan_limit(0);
  Client client = test::make_client(o);
  self = &client;
  ASSERT_TRUE(client.record(make_record()).queued());
  ASSERT_TRUE(server_.wait_for_requests(1, kGenerous));
  client.shutdown(10s);  // the callback is waiting for this; neither may block the other
  EXPECT_EQ(inner.result.load(), static_cast<int>(FlushResult::kTimedOut));
  EXPECT_LT(inner.took_ms.load(), kPromptMs);
  expect_identity(client.stats());
}

TEST_F(ClientIntegration, ClientDestroyedFromItsOwnCallback) {
  // Everything the callback touches is owned by the callback itself, so it outlives the test's
  // view of it; the client's state, freed last by the worker, releases it.
  struct Shared {
    std::atomic<bool> recording_done{false};
    std::atomic<bool> destroyed{false};
    std::unique_ptr<Client> client;
  };
  auto shared = std::make_shared<Shared>();
  const std::weak_ptr<Shared> alive = shared;
  {
    Options o = options();
    o.on_result = [shared](const DeliveryReport&) {
      // As in any program: no other thread may still be using the client it destroys.
      if (!eventually([&] { return shared->recording_done.load(); })) return;
      if (shared->destroyed.exchange(true)) return;
      shared->client.reset();  // ~Client on the worker: it cannot join itself
    };
    shared->client = std::make_unique<Client>(test::make_client(o));
  }
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(shared->client->record(make_record()).queued());
  shared->recording_done = true;  // the test thread does not touch the client from here on
  shared.reset();
  // The worker destroys the client, finishes on its own and frees the client's state, which
  // holds the last copy of the callback: then `Shared` goes too. The sanitizer builds check that
  // nothing is touched after it is freed.
  ASSERT_TRUE(eventually([&] { return alive.expired(); }));
  EXPECT_EQ(testing::connections_to(server_.port()), 0u);
}

}  // namespace
}  // namespace opsmeter::test
