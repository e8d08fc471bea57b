// The real client (worker, libcurl, policy) against the mock ingest server over loopback.
// Every row of the delivery policy table is exercised here; assertions are on what the server
// actually received and on the client's stats. Waits are on conditions with deadlines.
#include <atomic>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "client_fixture.hpp"
#include "opsmeter/ids.hpp"
#include "opsmeter/serialize.hpp"

namespace opsmeter::test {
namespace {

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

// A 429 with this Retry-After: the record is resent once, with its id, a second later (the
// header's 1 s, or the 1 s floor under a 0), and the window is logged once.
void expect_one_resend_a_second_later(ClientIntegration& t, const char* retry_after) {
  t.server_.push_fault(Fault::throttle(retry_after));
  Client client = test::make_client(t.options());
  const std::string id = new_request_id();
  ASSERT_TRUE(client.record(make_record(id)).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  const auto requests = t.server_.requests();
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
  EXPECT_EQ(t.log_count("Telemetry throttled, retry after 1"), 1u);
}

TEST_F(ClientIntegration, ThrottleWithDeltaSecondsWaitsAndResendsSameId) {
  expect_one_resend_a_second_later(*this, "1");
}

// Retry-After: 0 from a broken or hostile server: one resend after the 1 s floor, not a storm.
TEST_F(ClientIntegration, ThrottleWithZeroRetryAfterWaitsTheOneSecondFloor) {
  expect_one_resend_a_second_later(*this, "0");
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
  o.pause.window = 400ms;
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
  o.retry.max_retries = 2;
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

// A model name over the contract's 128 bytes is cut, not a reason to lose the call's spend.
TEST_F(ClientIntegration, OverlongModelIsCutToItsCapAndDelivered) {
  Client client = test::make_client(options());
  LlmCallRecord r = make_record();
  r.model = std::string(120, 'm') + "\xc3\xa9" + std::string(100, 'x');  // a 2-byte char at 120-121
  const RecordResult result = client.record(std::move(r));
  ASSERT_TRUE(result.queued()) << to_string(result.reason);
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  ASSERT_EQ(server_.stored_bodies().size(), 1u);
  const auto body = nlohmann::json::parse(server_.stored_bodies()[0]);
  EXPECT_EQ(body["model"], std::string(120, 'm') + "\xc3\xa9" + std::string(6, 'x'));
  EXPECT_EQ(client.stats().delivered, 1u);
  EXPECT_TRUE(eventually([&] { return log_count("cut a provider or model name") == 1; }));
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
  o.retry.max_retries = 5;  // a loaded (sanitizer) machine may time out a normal answer too
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

// A quiet client: one record answered 429 is no evidence about the send rate. Once it is
// delivered, a burst goes out unpaced.
TEST_F(ClientIntegration, AQuietClientLearnsNoPaceFromOne429) {
  server_.push_fault(Fault::throttle("1"));
  Client client = test::make_client(options());
  ASSERT_TRUE(client.record(make_record()).queued());
  ASSERT_TRUE(eventually([&] { return client.stats().delivered == 1; }));
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(client.record(make_record()).queued());
  bool paced = false;
  ASSERT_TRUE(eventually([&] {
    paced = paced || client.status().send_rate_limit > 0;
    return client.stats().delivered == 201;
  }));
  EXPECT_FALSE(paced);
  EXPECT_EQ(server_.counts_by_status()[429], 1u);
  EXPECT_EQ(log_count("pacing sends at"), 0u);
}

// 5% of answers 429 at random: only those records wait for their windows; the share is not
// evidence about the send rate, so nothing paces the sender, and everything is delivered.
TEST_F(ClientIntegration, Random429sDoNotPaceTheSender) {
  server_.set_fault_fraction(Fault::throttle("1"), 0.05, 7);
  Client client = test::make_client(options());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(client.record(make_record()).queued());
  bool paced = false;
  ASSERT_TRUE(eventually(
      [&] {
        paced = paced || client.status().send_rate_limit > 0;
        return client.stats().delivered == 1000;
      },
      60s));
  EXPECT_FALSE(paced);
  EXPECT_GT(server_.counts_by_status()[429], 20u);  // the condition happened
  EXPECT_EQ(log_count("pacing sends at"), 0u);
  EXPECT_EQ(server_.stored_count(), 1000u);
}

// Throttling is logged as a state: a server that answers every request 429 (Retry-After: 0,
// so each record waits the 1 s floor) for 3 s, while records keep coming, makes at most two
// warnings (throttling started, pacing started), then one info line when throttling ends.
TEST_F(ClientIntegration, ThrottlingIsLoggedAsAState) {
  server_.set_fault_fraction(Fault::throttle("0"), 1.0);
  Options o = options();
  o.log_level = LogLevel::kInfo;
  Client client = test::make_client(o);
  const auto start = Clock::now();
  while (Clock::now() - start < 3s) {
    client.record(make_record());
    std::this_thread::sleep_for(20ms);  // 50 records/s, as a service's calls arrive
  }
  server_.clear_faults();
  ASSERT_EQ(client.flush(60s), FlushResult::kFlushed);
  ASSERT_TRUE(eventually([&] { return log_count("Telemetry throttling ended") == 1; }, 20s))
      << log_count("Telemetry throttling ended");
  EXPECT_GE(client.stats().throttled, 8u);  // at least the hold's evidence
  EXPECT_EQ(log_count("Telemetry throttled, retry after"), 1u);
  EXPECT_LE(log_count_at(LogLevel::kWarn), 2u) << all_logs();
  EXPECT_EQ(client.stats().delivered, client.stats().recorded);
}

// A slow answer on a fresh connection (its very first request) is that request's failure:
// retried with the same id, and the ingest API is not judged unreachable for it.
TEST_F(ClientIntegration, ASlowFirstAnswerIsNotAnOutage) {
  server_.push_fault(Fault::delay_for(2000ms));  // the first request, on the first connection
  Options o = options();
  o.timeout = 300ms;
  o.retry.max_retries = 5;  // a loaded (sanitizer) machine may time out a normal answer too
  o.log_level = LogLevel::kDebug;
  Client client = test::make_client(o);
  ASSERT_TRUE(client.record(make_record()).queued());
  bool unreachable = false;
  ASSERT_TRUE(eventually([&] {
    unreachable = unreachable || client.status().unreachable;
    return client.stats().delivered == 1;
  }));
  EXPECT_FALSE(unreachable);
  EXPECT_EQ(log_count("ingest unreachable"), 0u);
  EXPECT_GE(client.stats().retried, 1u);
}

// A server that reads requests and never answers: one timeout is a slow answer, but once most
// of the last requests got none, the ingest API is unreachable (held records, probes), logged
// once with the reason.
TEST_F(ClientIntegration, MostRequestsUnansweredIsAnOutage) {
  server_.set_fault_fraction(Fault::never_answer(), 1.0);
  Options o = options();
  o.timeout = 300ms;
  o.log_level = LogLevel::kDebug;
  Client client = test::make_client(o);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client.record(make_record()).queued());
  ASSERT_TRUE(eventually([&] { return client.status().unreachable; }, 20s));
  EXPECT_EQ(log_count("ingest unreachable"), 1u);
  EXPECT_EQ(log_count("of the last 8 requests got no answer"), 1u) << all_logs();
  EXPECT_EQ(client.stats().dropped_for(DropReason::kRetriesExhausted), 0u);
  server_.clear_faults();
  ASSERT_EQ(client.flush(60s), FlushResult::kFlushed);
  EXPECT_EQ(client.stats().delivered, 20u);
  EXPECT_EQ(server_.stored_count(), 20u);
}

// A record's last permitted attempt goes on a new connection: libcurl resends a request on its
// own only when a kept-alive connection turns out closed, so that send cannot be doubled.
TEST_F(ClientIntegration, LastPermittedAttemptUsesAFreshConnection) {
  for (const int max_retries : {1, 2}) {
    server_.reset();
    server_.push_fault(Fault::http_status(503));  // the first attempt only
    Options o = options();
    o.max_in_flight = 1;  // one kept-alive connection
    o.retry.max_retries = max_retries;
    Client client = test::make_client(o);
    ASSERT_TRUE(client.record(testing::sample_record()).queued());
    ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
    EXPECT_EQ(client.stats().delivered, 1u);
    const auto requests = server_.requests();
    ASSERT_EQ(requests.size(), 2u);
    if (max_retries == 1) {
      EXPECT_NE(requests[1].remote_port, requests[0].remote_port);  // the last attempt: fresh
    } else {
      EXPECT_EQ(requests[1].remote_port, requests[0].remote_port);  // not the last: kept alive
    }
  }
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

}  // namespace
}  // namespace opsmeter::test
