// The client's life: options that disable it, records it refuses, moves, and shutdown and
// destruction within their deadlines against servers that never answer or are down.
#include <atomic>
#include <memory>
#include <thread>

#include "client_fixture.hpp"

namespace opsmeter::test {
namespace {

TEST_F(ClientIntegration, ShutdownReturnsByDeadlineAgainstNeverAnsweringServer) {
  server_.set_fault_fraction(Fault::never_answer(), 1.0);
  Options o = options();
  o.timeout = 800ms;
  Client client = test::make_client(o);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(client.record(make_record()).queued());
  ASSERT_TRUE(server_.wait_for_requests(1, kGenerous));
  const auto start = Clock::now();
  EXPECT_EQ(client.shutdown(500ms), FlushResult::kTimedOut);
  const auto took = Clock::now() - start;
  // The deadline plus a grace for joining the worker; the benchmark reports the exact figure.
  EXPECT_LT(took, 500ms + kShutdownGrace)
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
  const Stats s = client.stats();
  EXPECT_EQ(s.recorded, 50u);
  EXPECT_EQ(s.pending(), 0u);
  EXPECT_EQ(s.dropped_for(DropReason::kShutdown), 50u);
  expect_identity(s);
  const RecordResult after = client.record(make_record());
  EXPECT_EQ(after.reason, DropReason::kShutdown);
  EXPECT_EQ(client.shutdown(500ms), FlushResult::kTimedOut);  // idempotent, returns at once
}

TEST(ClientOptions, MissingKeyGivesDisabledClientThatSaysWhy) {
  Options o;
  o.base_url = "http://127.0.0.1:1";
  std::vector<std::string> logs;
  o.on_log = [&](LogLevel, std::string_view line) { logs.emplace_back(line); };
  Client client = test::make_client(o);
  const RecordResult r = client.record(make_record());
  EXPECT_EQ(r.outcome, RecordResult::Outcome::kDropped);
  EXPECT_EQ(r.reason, DropReason::kDisabled);
  const ClientStatus st = client.status();
  EXPECT_FALSE(st.enabled);
  EXPECT_EQ(st.disabled_reason, "api_key is missing");
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_NE(logs[0].find("api_key is missing"), std::string::npos);
  const Stats s = client.stats();
  EXPECT_EQ(s.recorded, 1u);
  EXPECT_EQ(s.dropped_for(DropReason::kDisabled), 1u);
  expect_identity(s);
  EXPECT_EQ(client.flush(10ms), FlushResult::kFlushed);
}

TEST(ClientOptions, MalformedBaseUrlDisables) {
  Options o;
  o.api_key = "k";
  o.base_url = "ftp://example";
  o.on_log = [](LogLevel, std::string_view) {};
  Client client = test::make_client(o);
  EXPECT_FALSE(client.status().enabled);
  EXPECT_EQ(client.status().disabled_reason, "base_url must start with http:// or https://");
}

TEST(ClientOptions, InvalidRecordIsTypedAndCounted) {
  Options o = dead_server_options();
  Client client = test::make_client(o);
  LlmCallRecord bad = make_record();
  bad.model.clear();
  const RecordResult r = client.record(std::move(bad));
  EXPECT_EQ(r.outcome, RecordResult::Outcome::kInvalid);
  EXPECT_EQ(r.validation.code, ValidationCode::kMissingField);
  EXPECT_EQ(r.validation.field, "model");
  EXPECT_EQ(client.stats().dropped_for(DropReason::kInvalid), 1u);
}

TEST(ClientOptions, MovedFromClientIsInert) {
  Options o = dead_server_options();
  Client a = test::make_client(o);
  Client b(std::move(a));
  EXPECT_EQ(a.record(make_record()).reason,
            DropReason::kDisabled);  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(b.status().enabled);
}

TEST(ClientDeadServer, DestructorWith10000QueuedReturnsWithinShutdownTimeout) {
  Options o = dead_server_options();
  o.shutdown_timeout = 500ms;
  std::atomic<std::uint64_t> ended{0};
  o.on_result = [&](const DeliveryReport&) { ended.fetch_add(1); };
  const auto shutdown_timeout = o.shutdown_timeout;
  auto client = std::make_unique<Client>(test::make_client(o));
  std::uint64_t queued = 0;
  for (int i = 0; i < 10000; ++i) queued += client->record(make_record()).queued();
  EXPECT_GE(queued, 9000u);  // the worker may already hold a few outside the queue
  const auto start = Clock::now();
  client.reset();
  EXPECT_LT(Clock::now() - start, shutdown_timeout + kShutdownGrace);
  EXPECT_EQ(ended.load(), queued);  // every queued record reached an end and was reported
}

TEST(ClientDeadServer, MillionRecordsFromFourThreadsAreAllAccountedFor) {
  Options o = dead_server_options();
  Client client = test::make_client(o);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 250000;
  std::atomic<std::uint64_t> queued{0}, full{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      LlmCallRecord prototype = make_record("ext_fixed_prototype_id");
      for (int i = 0; i < kPerThread; ++i) {
        const RecordResult r = client.record(prototype);  // copy: the caller keeps its record
        if (r.queued()) {
          queued.fetch_add(1, std::memory_order_relaxed);
        } else if (r.reason == DropReason::kQueueFull) {
          full.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  client.shutdown(1s);
  const Stats s = client.stats();
  EXPECT_EQ(s.recorded, 1000000u);
  EXPECT_EQ(queued.load() + full.load(), 1000000u);
  EXPECT_EQ(s.dropped_for(DropReason::kQueueFull), full.load());
  EXPECT_EQ(s.pending(), 0u);
  expect_identity(s);
}

}  // namespace
}  // namespace opsmeter::test
