// The real client (worker, libcurl, policy) against the mock ingest server over loopback.
// Every row of the delivery policy table is exercised here; assertions are on what the server
// actually received and on the client's stats. Waits are on conditions with deadlines.
#include "opsmeter/client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "opsmeter/ids.hpp"
#include "opsmeter/serialize.hpp"
#include "opsmeter/testing/mock_ingest_server.hpp"
#include "opsmeter/testing/support.hpp"
#include "test_client.hpp"

namespace opsmeter {
namespace {

using namespace std::chrono_literals;
using testing::Fault;
using testing::MockIngestServer;
using Clock = std::chrono::steady_clock;

constexpr auto kGenerous = 10s;  // upper bound for conditions that normally hold in milliseconds

// Grace allowed past a shutdown deadline. Sanitizer builds run the final accounting loop
// (10,000 records with callbacks) 5-15x slower, so they get more.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr auto kShutdownGrace = 1000ms;
#else
constexpr auto kShutdownGrace = 250ms;
#endif

LlmCallRecord make_record() { return testing::sample_record(); }
LlmCallRecord make_record(std::string id) { return testing::sample_record(std::move(id)); }

void expect_identity(const Stats& s) {
  EXPECT_EQ(s.recorded, s.delivered + s.dropped + s.pending())
      << "recorded=" << s.recorded << " delivered=" << s.delivered << " dropped=" << s.dropped
      << " pending=" << s.pending();
}

// Waits until `predicate` holds or the deadline passes; returns its last value.
template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = kGenerous) {
  const auto deadline = Clock::now() + timeout;
  while (!predicate()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);  // polling interval of a condition wait, not a timing
  }
  return true;
}

// Options for a client whose server is down; logs are discarded.
Options dead_server_options() {
  Options o;
  o.api_key = "k";
  o.base_url = "http://127.0.0.1:" + std::to_string(testing::unused_loopback_port());
  o.on_log = [](LogLevel, std::string_view) {};
  return o;
}

class ClientIntegration : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.start()) << server_.last_error(); }
  void TearDown() override { server_.stop(); }

  Options options() {
    Options o;
    o.api_key = "test-key";
    o.base_url = server_.base_url() + "/";  // trailing slash is stripped
    o.retry_base_delay = 5ms;
    o.retry_max_delay = 20ms;
    // Sanitizer builds on a loaded 2-core machine can take longer than 600 ms to answer; a
    // spurious timeout would add a retry and change the exact request counts asserted here.
    // Tests about timeouts set their own.
    o.timeout = 5s;
    o.log_level = LogLevel::kDebug;
    o.on_log = [this](LogLevel, std::string_view line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      logs_.emplace_back(line);
    };
    return o;
  }

  std::size_t log_count(std::string_view needle) {
    std::lock_guard<std::mutex> lock(log_mu_);
    std::size_t n = 0;
    for (const auto& line : logs_) n += line.find(needle) != std::string::npos;
    return n;
  }

  std::vector<std::string> ids_received() {
    std::vector<std::string> ids;
    for (const auto& r : server_.requests()) ids.push_back(r.external_request_id);
    return ids;
  }

  MockIngestServer server_;
  std::mutex log_mu_;
  std::vector<std::string> logs_;
};

TEST_F(ClientIntegration, DeliversRecordsExactlyAsSerialized) {
  Client client = test::make_client(options());
  std::vector<std::string> expected;
  for (int i = 0; i < 25; ++i) {
    LlmCallRecord r = make_record();
    expected.push_back(to_json(r));
    ASSERT_TRUE(client.record(std::move(r)).queued());
  }
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  const Stats s = client.stats();
  EXPECT_EQ(s.recorded, 25u);
  EXPECT_EQ(s.delivered, 25u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.requests_sent, 25u);
  expect_identity(s);
  std::vector<std::string> stored = server_.stored_bodies();
  std::sort(stored.begin(), stored.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(stored, expected);
  for (const auto& r : server_.requests()) EXPECT_EQ(r.api_key, "test-key");
  ASSERT_TRUE(client.status().posture.has_value());
  EXPECT_EQ(client.status().posture->plan_tier, "Free");
  EXPECT_EQ(client.status().posture->ok, true);
}

TEST_F(ClientIntegration, ThrottleWithDeltaSecondsWaitsAndResendsSameId) {
  server_.push_fault(Fault::throttle("1"));
  Client client = test::make_client(options());
  const std::string id = new_request_id();
  ASSERT_TRUE(client.record(make_record(id)).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].status, 429);
  EXPECT_EQ(requests[1].status, 200);
  EXPECT_EQ(requests[0].external_request_id, id);
  EXPECT_EQ(requests[1].external_request_id, id);
  EXPECT_GE(requests[1].arrived_at - requests[0].arrived_at, 1000ms);
  const Stats s = client.stats();
  EXPECT_EQ(s.throttled, 1u);
  EXPECT_EQ(s.delivered, 1u);
  expect_identity(s);
  EXPECT_EQ(log_count("Telemetry throttled, retry after 1s"), 1u);
}

TEST_F(ClientIntegration, ThrottleWithHttpDateWaitsUntilThatDate) {
  // HTTP-dates have whole seconds: the next one is at most a second away.
  const std::time_t target = std::time(nullptr) + 1;
  char date[64];
  std::tm tm{};
  gmtime_r(&target, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  server_.push_fault(Fault::throttle(date));
  Client client = test::make_client(options());
  // Several records: the whole sender waits, not just the throttled one.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.record(make_record()).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  const auto requests = server_.requests();
  ASSERT_GE(requests.size(), 4u);
  const auto throttled_at =
      std::find_if(requests.begin(), requests.end(), [](const auto& r) { return r.status == 429; });
  ASSERT_NE(throttled_at, requests.end());
  const auto resend = std::find_if(throttled_at + 1, requests.end(), [&](const auto& r) {
    return r.external_request_id == throttled_at->external_request_id;
  });
  ASSERT_NE(resend, requests.end());
  EXPECT_GE(resend->arrived_at_wall, std::chrono::system_clock::from_time_t(target));
  const Stats s = client.stats();
  EXPECT_EQ(s.delivered, 3u);
  EXPECT_EQ(s.requests_sent, 4u);
  expect_identity(s);
}

TEST_F(ClientIntegration, PlanLimitPausesDropsQueuedAndResumesAfterWindow) {
  Options o = options();
  o.max_in_flight = 1;
  o.pause_window = 400ms;
  std::vector<PauseEvent> events;
  std::mutex events_mu;
  o.on_pause = [&](const PauseEvent& e) {
    std::lock_guard<std::mutex> lock(events_mu);
    events.push_back(PauseEvent{e.paused, {}, e.window});
  };
  server_.set_plan_limit(0);
  server_.push_fault(Fault::delay_for(300ms));  // holds the first request so others queue up
  Client client = test::make_client(o);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client.record(make_record()).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);

  EXPECT_EQ(server_.request_count(), 1u);  // the other four never left the process
  Stats s = client.stats();
  EXPECT_EQ(s.dropped_for(DropReason::kPaused), 5u);
  ClientStatus st = client.status();
  EXPECT_TRUE(st.telemetry_paused);
  EXPECT_EQ(st.pause_reason, "plan_limit_reached");
  ASSERT_TRUE(st.posture.has_value());
  EXPECT_EQ(st.posture->is_plan_limit_reached, true);
  EXPECT_EQ(st.posture->provider_calls_continue, true);

  // During the pause record() drops at once and nothing reaches the server.
  const RecordResult during = client.record(make_record());
  EXPECT_EQ(during.outcome, RecordResult::Outcome::kDropped);
  EXPECT_EQ(during.reason, DropReason::kPaused);
  EXPECT_EQ(server_.request_count(), 1u);

  // After the window one probe decides; the server accepts again, so telemetry resumes.
  server_.set_plan_limit(-1);
  ASSERT_TRUE(eventually([&] { return Clock::now() >= st.paused_until; }));
  ASSERT_TRUE(client.record(make_record()).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  EXPECT_EQ(server_.request_count(), 2u);
  EXPECT_EQ(server_.counts_by_status().at(200), 1u);  // the probe went through
  EXPECT_FALSE(client.status().telemetry_paused);
  {
    std::lock_guard<std::mutex> lock(events_mu);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_TRUE(events[0].paused);
    EXPECT_EQ(events[0].window, 400ms);
    EXPECT_FALSE(events[1].paused);
  }
  s = client.stats();
  EXPECT_EQ(s.delivered, 1u);
  EXPECT_EQ(s.dropped_for(DropReason::kPaused), 6u);
  expect_identity(s);
  EXPECT_EQ(log_count("Telemetry paused (plan_limit_reached)"), 1u);
  EXPECT_EQ(log_count("Telemetry resumed"), 1u);
}

TEST_F(ClientIntegration, ServerErrorThenSuccessResendsTheSameId) {
  server_.push_fault(Fault::http_status(503));
  Client client = test::make_client(options());
  const std::string id = new_request_id();
  ASSERT_TRUE(client.record(make_record(id)).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  EXPECT_EQ(ids_received(), (std::vector<std::string>{id, id}));
  const Stats s = client.stats();
  EXPECT_EQ(s.retried, 1u);
  EXPECT_EQ(s.delivered, 1u);
  expect_identity(s);
}

TEST_F(ClientIntegration, RetriesExhaustedAfterMaxRetries) {
  server_.push_fault(Fault::http_status(500), 3);
  Options o = options();
  o.max_retries = 2;
  Client client = test::make_client(o);
  const std::string id = new_request_id();
  ASSERT_TRUE(client.record(make_record(id)).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  EXPECT_EQ(ids_received(), (std::vector<std::string>{id, id, id}));
  const Stats s = client.stats();
  EXPECT_EQ(s.dropped_for(DropReason::kRetriesExhausted), 1u);
  EXPECT_EQ(s.last_error, "http 500");
  expect_identity(s);
}

TEST_F(ClientIntegration, BadRequestIsNotRetried) {
  server_.push_fault(Fault::http_status(400));
  server_.push_fault(Fault::http_status(422));
  Client client = test::make_client(options());
  ASSERT_TRUE(client.record(make_record()).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  ASSERT_TRUE(client.record(make_record()).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  EXPECT_EQ(server_.request_count(), 2u);
  const Stats s = client.stats();
  EXPECT_EQ(s.dropped_for(DropReason::kRejected), 2u);
  EXPECT_EQ(s.rejected_with(400), 1u);
  EXPECT_EQ(s.rejected_with(422), 1u);
  expect_identity(s);
}

TEST_F(ClientIntegration, WrongApiKeyIsNotRetriedAndLoggedOnce) {
  Options o = options();
  o.api_key = "wrong-key";
  Client client = test::make_client(o);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.record(make_record()).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  EXPECT_EQ(server_.request_count(), 3u);
  EXPECT_EQ(server_.counts_by_status().at(401), 3u);
  const Stats s = client.stats();
  EXPECT_EQ(s.rejected_with(401), 3u);
  expect_identity(s);
  EXPECT_EQ(log_count("rejected the API key"), 1u);
  EXPECT_EQ(log_count("wrong-key"), 0u);  // the key never appears in logs
}

TEST_F(ClientIntegration, TimeoutIsRetriedWithSameId) {
  server_.push_fault(Fault::delay_for(3000ms));  // longer than the client timeout
  Options o = options();
  o.timeout = 300ms;
  o.max_retries = 5;  // a loaded (sanitizer) machine may time out a normal answer too
  Client client = test::make_client(o);
  const std::string id = new_request_id();
  ASSERT_TRUE(client.record(make_record(id)).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  const Stats s = client.stats();
  EXPECT_EQ(s.delivered, 1u);
  EXPECT_GE(s.retried, 1u);
  EXPECT_EQ(s.requests_sent, s.retried + 1);
  expect_identity(s);
  server_.clear_faults();  // releases the held request; it is then stored or seen as duplicate
  ASSERT_TRUE(server_.wait_for_requests(s.requests_sent, kGenerous));
  for (const std::string& received : ids_received()) EXPECT_EQ(received, id);
}

TEST_F(ClientIntegration, ConnectionResetIsRetried) {
  server_.push_fault(Fault::reset());
  Client client = test::make_client(options());
  const std::string id = new_request_id();
  ASSERT_TRUE(client.record(make_record(id)).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].status, 0);
  EXPECT_EQ(requests[1].status, 200);
  EXPECT_EQ(requests[1].external_request_id, id);
  const Stats s = client.stats();
  EXPECT_EQ(s.delivered, 1u);
  EXPECT_EQ(s.retried, 1u);
  expect_identity(s);
}

TEST_F(ClientIntegration, KeptAliveConnectionDroppedByServerIsReopenedWithoutRetry) {
  Options o = options();
  o.max_in_flight = 1;
  Client client = test::make_client(o);
  ASSERT_TRUE(client.record(make_record("ext_before_drop")).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  ASSERT_EQ(server_.drop_connections(), 1u);  // the idle kept-alive connection
  ASSERT_TRUE(client.record(make_record("ext_after_drop")).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  const Stats s = client.stats();
  EXPECT_EQ(s.delivered, 2u);
  EXPECT_EQ(s.retried, 0u);  // the stale connection is not the record's failure
  EXPECT_EQ(s.requests_sent, 2u);
  expect_identity(s);
  EXPECT_EQ(ids_received(), (std::vector<std::string>{"ext_before_drop", "ext_after_drop"}));
}

// A kept-alive connection that the server resets when the next request arrives: libcurl sends
// that request again on a fresh connection by itself. The resend reached the wire, so it counts
// in requests_sent, exactly as many as the server received.
TEST_F(ClientIntegration, ResendOnReusedConnectionIsCounted) {
  Options o = options();
  o.max_in_flight = 1;
  Client client = test::make_client(o);
  ASSERT_TRUE(client.record(make_record("ext_first")).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  server_.push_fault(Fault::reset());
  ASSERT_TRUE(client.record(make_record("ext_second")).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  const Stats s = client.stats();
  EXPECT_EQ(s.delivered, 2u);
  EXPECT_EQ(s.retried, 0u);  // libcurl's resend, not the policy's
  EXPECT_EQ(s.requests_sent, server_.request_count());
  EXPECT_EQ(ids_received(), (std::vector<std::string>{"ext_first", "ext_second", "ext_second"}));
  expect_identity(s);
}

TEST_F(ClientIntegration, ReconnectsLeaveNoSocketsBehind) {
  Options o = options();
  o.max_in_flight = 2;
  {
    Client client = test::make_client(o);
    for (int i = 0; i < 60; ++i) {
      ASSERT_TRUE(client.record(make_record()).queued());
      if (i % 10 == 9) {
        ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
        server_.drop_connections();
      }
    }
    ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
    EXPECT_EQ(client.stats().delivered, 60u);
    EXPECT_LE(testing::connections_to(server_.port()), o.max_in_flight);
  }
  EXPECT_EQ(testing::connections_to(server_.port()), 0u);  // the destructor closed them all
  const std::vector<std::string> ids = ids_received();
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 60u);  // each record arrived
}

TEST_F(ClientIntegration, GarbageSuccessBodyCountsAsDelivered) {
  server_.push_fault(Fault::garbage_body());
  Client client = test::make_client(options());
  ASSERT_TRUE(client.record(make_record()).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  const Stats s = client.stats();
  EXPECT_EQ(s.delivered, 1u);
  EXPECT_EQ(s.retried, 0u);
  EXPECT_EQ(server_.request_count(), 1u);
  EXPECT_FALSE(client.status().posture.has_value());
  expect_identity(s);
}

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

TEST_F(ClientIntegration, CallbackExceptionsAreCaughtAndCounted) {
  Options o = options();
  o.on_result = [](const DeliveryReport&) { throw std::runtime_error("user bug"); };
  o.on_log = [](LogLevel, std::string_view) { throw 42; };
  Client client = test::make_client(o);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.record(make_record()).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  const Stats s = client.stats();
  EXPECT_EQ(s.delivered, 3u);
  EXPECT_GE(s.callback_errors, 3u);
}

TEST_F(ClientIntegration, ResultCallbackSeesEveryRecordWithPosture) {
  server_.set_budget_flags(true, false);
  Options o = options();
  std::mutex mu;
  std::vector<std::string> delivered_ids;
  bool warning_seen = false;
  o.on_result = [&](const DeliveryReport& report) {
    std::lock_guard<std::mutex> lock(mu);
    if (report.delivered) delivered_ids.emplace_back(report.external_request_id);
    if (report.posture && report.posture->budget_warning == true) warning_seen = true;
  };
  Client client = test::make_client(o);
  const std::string id = new_request_id();
  ASSERT_TRUE(client.record(make_record(id)).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(delivered_ids, std::vector<std::string>{id});
  EXPECT_TRUE(warning_seen);
  EXPECT_EQ(client.status().posture->budget_warning, true);
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
}  // namespace opsmeter
