// The worker's policy driven step by step through the transport interface with a scripted
// fake and invented times: no sockets, no threads, no sleeps.
#include <gtest/gtest.h>

#include <deque>
#include <map>

#include "delivery/dispatcher.hpp"
#include "opsmeter/ids.hpp"

namespace opsmeter::detail {
namespace {

using namespace std::chrono_literals;

class ScriptedTransport final : public Transport {
 public:
  struct Sent {
    std::uint64_t token;
    std::string body;
    bool fresh_connection;
  };

  bool start(std::uint64_t token, const std::string& body, bool fresh_connection) override {
    if (refuse_starts > 0) {
      --refuse_starts;
      return false;
    }
    sent.push_back({token, body, fresh_connection});
    open.push_back(token);
    return true;
  }
  void collect(std::vector<HttpResult>& done) override {
    for (auto& r : ready) done.push_back(std::move(r));
    ready.clear();
  }
  void wait(Millis) override {}
  void abort_all(std::vector<HttpResult>& aborted) override {
    for (std::uint64_t token : open) {
      HttpResult r;
      r.token = token;
      r.error = TransportError::kAborted;
      aborted.push_back(r);
    }
    open.clear();
  }
  std::size_t capacity() const noexcept override { return capacity_; }
  void wakeup() noexcept override {}
  std::size_t capacity_ = 4;  // what the server allows: max_in_flight over HTTP/1.1

  // Answers the oldest open request.
  void answer(int status, std::string retry_after = {}, std::string body = {}) {
    ASSERT_FALSE(open.empty());
    HttpResult r;
    r.token = open.front();
    open.pop_front();
    r.http_status = status;
    r.retry_after = std::move(retry_after);
    r.body = std::move(body);
    ready.push_back(std::move(r));
  }
  void fail(TransportError error) {
    ASSERT_FALSE(open.empty());
    HttpResult r;
    r.token = open.front();
    open.pop_front();
    r.error = error;
    ready.push_back(std::move(r));
  }
  // The connection failed before the request reached the wire (DNS, refused, TLS).
  void refuse() {
    ASSERT_FALSE(open.empty());
    HttpResult r;
    r.token = open.front();
    open.pop_front();
    r.error = TransportError::kConnect;
    r.connection_failed = true;
    r.requests = 0;
    ready.push_back(std::move(r));
  }

  int refuse_starts = 0;  // this many start() calls fail
  std::vector<Sent> sent;
  std::deque<std::uint64_t> open;
  std::vector<HttpResult> ready;
};

std::string id_in(const std::string& body) {
  const auto start = body.find("\"externalRequestId\":\"") + 21;
  return body.substr(start, body.find('"', start) - start);
}

class DispatcherTest : public ::testing::Test {
 protected:
  void build(std::size_t max_in_flight = 4) {
    Options o;
    o.api_key = "k";
    o.base_url = "http://127.0.0.1:1";
    o.max_in_flight = max_in_flight;
    transport_.capacity_ = max_in_flight;  // an HTTP/1.1 server
    o.pause.window = 10s;
    o.max_record_age = max_record_age_;
    config_ = finalize_options(o);
    shared_ = std::make_unique<SharedState>(100);
    accounting_ = std::make_unique<Accounting>(config_.options, *shared_, logger_);
    gate_ = std::make_unique<DeliveryGate>(max_in_flight, shared_->admission.paused_until_ns, shared_->unreachable);
    dispatcher_ = std::make_unique<Dispatcher>(config_, *shared_, transport_, *gate_, *accounting_);
  }

  std::string push(TimePoint enqueued_at) {
    QueuedRecord q;
    q.record.external_request_id = new_request_id();
    q.record.provider = "openai";
    q.record.model = "gpt-4o-mini";
    q.enqueued_at = enqueued_at;
    const std::string id = q.record.external_request_id;
    EXPECT_TRUE(shared_->queue.try_push(q));
    return id;
  }

  void step(TimePoint now) { dispatcher_->step(Now{now, WallClock::now()}); }

  // Steps at each time the dispatcher asks to be woken until `n` requests were started.
  TimePoint run_until_sent(TimePoint now, std::size_t n) {
    for (int i = 0; i < 1000 && transport_.sent.size() < n; ++i) now = dispatcher_->step(Now{now, WallClock::now()});
    return now;
  }

  std::uint64_t dropped(DropReason r) const { return shared_->dropped[static_cast<std::size_t>(r)].load(); }

  void expect_identity() {
    const std::uint64_t pending = shared_->queue.size() + dispatcher_->in_flight() + dispatcher_->retry_waiting();
    EXPECT_EQ(shared_->queue.pushed(), shared_->delivered.load() + shared_->dropped_total() + pending);
  }

  const TimePoint t0_ = TimePoint(1000s);
  Millis max_record_age_ = 60s;
  Config config_;
  std::unique_ptr<SharedState> shared_;
  ScriptedTransport transport_;
  Logger logger_{LogLevel::kError, [](LogLevel, std::string_view) {}};
  std::unique_ptr<Accounting> accounting_;
  std::unique_ptr<DeliveryGate> gate_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherTest, DeliversAndCounts) {
  build();
  push(t0_);
  step(t0_);
  ASSERT_EQ(transport_.sent.size(), 1u);
  transport_.answer(200, {}, R"({"ok":true,"planTier":"Pro"})");
  step(t0_);
  EXPECT_EQ(shared_->delivered.load(), 1u);
  EXPECT_EQ(accounting_->posture()->plan_tier, "Pro");
  expect_identity();
}

// A lone 429 holds its record until its Retry-After window ends (3 s, plus up to 10% drawn),
// then resends it first, unchanged; the other records go on meanwhile, unpaced (one 429 is no
// evidence about the send rate).
TEST_F(DispatcherTest, A429HoldsItsRecordUntilRetryAfterAndNotTheOthers) {
  build(1);
  const std::string a = push(t0_);
  const std::string b = push(t0_);
  step(t0_);
  ASSERT_EQ(transport_.sent.size(), 1u);
  transport_.answer(429, "3");
  step(t0_);
  ASSERT_EQ(transport_.sent.size(), 2u);  // b goes at once
  EXPECT_EQ(id_in(transport_.sent[1].body), b);
  transport_.answer(200);
  const TimePoint until = gate_->throttled_until();  // a's window: 3 s, plus up to 10% drawn
  EXPECT_GE(until, t0_ + 3000ms);
  EXPECT_LT(until, t0_ + 3300ms);
  EXPECT_EQ(gate_->held_until(), TimePoint{});
  EXPECT_EQ(gate_->send_rate_limit(), 0.0);
  step(t0_ + 1ms);
  step(until - 1ms);
  EXPECT_EQ(transport_.sent.size(), 2u);  // a not inside its window
  step(until);
  ASSERT_EQ(transport_.sent.size(), 3u);
  EXPECT_EQ(id_in(transport_.sent[2].body), a);
  EXPECT_EQ(transport_.sent[2].body, transport_.sent[0].body);
  transport_.answer(200);
  step(until + 1ms);
  EXPECT_EQ(shared_->delivered.load(), 2u);
  EXPECT_EQ(shared_->throttled.load(), 1u);
  expect_identity();
}

// When most answers are 429s, the whole sender holds until the window of the 429 that showed
// it, then sends paced.
TEST_F(DispatcherTest, MostlyThrottledHoldsTheWholeSenderThenPaces) {
  build(1);
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(push(t0_));
  TimePoint now = t0_;
  for (int i = 0; i < 8; ++i) {
    now = run_until_sent(now, static_cast<std::size_t>(i) + 1);
    transport_.answer(429, "2");
  }
  step(now);
  ASSERT_GT(gate_->held_until(), now);
  const TimePoint held = gate_->held_until();
  EXPECT_GT(gate_->send_rate_limit(), 0.0);  // paced from the floor: nothing was accepted
  const std::size_t sent = transport_.sent.size();
  step(held - 1ms);
  EXPECT_EQ(transport_.sent.size(), sent);  // nothing inside the hold
  run_until_sent(held, sent + 1);
  EXPECT_EQ(transport_.sent.size(), sent + 1);
  EXPECT_EQ(shared_->throttled.load(), 8u);
  expect_identity();
}

TEST_F(DispatcherTest, PlanLimitPausesDropsQueuedAndProbesAfterWindow) {
  build(2);
  push(t0_);
  push(t0_);
  push(t0_);
  step(t0_);
  ASSERT_EQ(transport_.sent.size(), 2u);
  transport_.answer(402, {}, R"({"ok":false,"reason":"plan_limit_reached","telemetryPaused":true})");
  step(t0_);
  EXPECT_EQ(transport_.sent.size(), 2u);
  EXPECT_EQ(dropped(DropReason::kPaused), 2u);  // the 402'd record and the queued one
  EXPECT_EQ(shared_->admission.paused_until_ns.load(), to_ns(t0_ + 10s));
  EXPECT_TRUE(gate_->status()->paused);
  transport_.answer(200);  // the other in-flight request still lands
  step(t0_ + 1s);
  EXPECT_EQ(shared_->delivered.load(), 1u);

  push(t0_ + 2s);  // a record that slipped in: dropped, not sent, while paused
  step(t0_ + 2s);
  EXPECT_EQ(transport_.sent.size(), 2u);
  EXPECT_EQ(dropped(DropReason::kPaused), 3u);

  push(t0_ + 10s);
  push(t0_ + 10s);
  step(t0_ + 10s);
  ASSERT_EQ(transport_.sent.size(), 3u);  // one probe only
  transport_.answer(200);
  step(t0_ + 10s + 1ms);
  EXPECT_FALSE(gate_->status()->paused);
  EXPECT_EQ(transport_.sent.size(), 4u);  // resumed: the next record goes out
  transport_.answer(200);
  step(t0_ + 10s + 2ms);
  EXPECT_EQ(shared_->delivered.load(), 3u);
  expect_identity();
}

TEST_F(DispatcherTest, TransientFailuresRetrySameBodyThenGiveUp) {
  build();
  push(t0_);
  step(t0_);
  transport_.answer(503);
  step(t0_);
  step(t0_ + 200ms);  // the first backoff is at most retry.base_delay (200 ms)
  ASSERT_EQ(transport_.sent.size(), 2u);
  transport_.fail(TransportError::kTimeout);
  step(t0_ + 200ms);
  step(t0_ + 600ms);  // the second at most 400 ms
  ASSERT_EQ(transport_.sent.size(), 3u);
  EXPECT_EQ(transport_.sent[2].body, transport_.sent[0].body);
  transport_.fail(TransportError::kNetwork);
  step(t0_ + 600ms);
  // Only the last permitted attempt (the third, retry.max_retries = 2) goes on a fresh connection.
  EXPECT_FALSE(transport_.sent[0].fresh_connection);
  EXPECT_FALSE(transport_.sent[1].fresh_connection);
  EXPECT_TRUE(transport_.sent[2].fresh_connection);
  EXPECT_EQ(dropped(DropReason::kRetriesExhausted), 1u);
  EXPECT_EQ(shared_->retried.load(), 2u);
  expect_identity();
}

TEST_F(DispatcherTest, UnreachableIngestHoldsEveryRecordAndProbesOneAtATime) {
  build(2);
  for (int i = 0; i < 5; ++i) push(t0_);
  step(t0_);
  ASSERT_EQ(transport_.sent.size(), 2u);
  transport_.refuse();  // the outage starts
  transport_.refuse();  // a request from before it: changes nothing
  step(t0_);
  EXPECT_TRUE(gate_->unreachable());
  const TimePoint probe1 = gate_->status()->next_probe_at;
  EXPECT_GE(probe1, t0_ + 500ms);  // 1 s, half of it drawn
  EXPECT_LE(probe1, t0_ + 1000ms);
  EXPECT_EQ(dispatcher_->step(Now{t0_, WallClock::now()}), probe1);  // sleeps until the probe
  step(probe1 - 1ms);
  EXPECT_EQ(transport_.sent.size(), 2u);  // nothing before the probe
  step(probe1);
  ASSERT_EQ(transport_.sent.size(), 3u);  // one probe, not max_in_flight requests
  step(probe1 + 1ms);
  EXPECT_EQ(transport_.sent.size(), 3u);
  transport_.refuse();  // the probe fails: the wait doubles
  step(probe1 + 10ms);
  const TimePoint probe2 = gate_->status()->next_probe_at;
  EXPECT_GE(probe2, probe1 + 10ms + 1000ms);
  EXPECT_LE(probe2, probe1 + 10ms + 2000ms);
  step(probe2);
  ASSERT_EQ(transport_.sent.size(), 4u);
  transport_.answer(200);  // reachable again: everything held goes out
  step(probe2);
  EXPECT_FALSE(gate_->unreachable());
  EXPECT_EQ(transport_.open.size(), 2u);
  for (int i = 0; i < 4; ++i) {
    if (transport_.open.empty()) step(probe2);
    transport_.answer(200);
    step(probe2);
  }
  EXPECT_EQ(shared_->delivered.load(), 5u);
  EXPECT_EQ(dropped(DropReason::kRetriesExhausted), 0u);
  EXPECT_EQ(shared_->requests_sent.load(), 5u);  // the refused ones never reached the wire
  EXPECT_EQ(shared_->retried.load(), 0u);
  expect_identity();
}

TEST_F(DispatcherTest, HeldRecordsStillAgeOut) {
  build(1);
  push(t0_);
  push(t0_);
  step(t0_);
  transport_.refuse();
  step(t0_);
  ASSERT_TRUE(gate_->unreachable());
  // Past max_record_age (60 s) the probe finds both too old: dropped and counted, not sent.
  step(t0_ + 61s);
  EXPECT_EQ(dropped(DropReason::kTooOld), 2u);
  EXPECT_EQ(transport_.sent.size(), 1u);
  expect_identity();
}

TEST_F(DispatcherTest, LateRecordsSayWhenTheyWereRecordedOnTimeOnesKeepTheirBytes) {
  max_record_age_ = 10min;
  build(1);
  push(t0_);
  push(t0_);
  const WallClock::time_point wall = WallClock::from_time_t(1764450000);
  dispatcher_->step(Now{t0_ + 60s, wall});  // exactly 60 s: on time
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ(transport_.sent[0].body.find("recordedAt"), std::string::npos);
  transport_.refuse();  // held
  dispatcher_->step(Now{t0_ + 60s, wall});
  const TimePoint probe = gate_->status()->next_probe_at;
  const auto waited = std::chrono::duration_cast<WallClock::duration>(probe - (t0_ + 60s));
  dispatcher_->step(Now{probe, wall + waited});  // the held record goes out late: stamped
  ASSERT_EQ(transport_.sent.size(), 2u);
  const std::string expected = "\"recordedAt\":\"" + rfc3339_ms(wall - 60s) + "\"}}";
  const std::string& late = transport_.sent[1].body;
  EXPECT_EQ(late.substr(late.size() - expected.size()), expected) << late;
  EXPECT_EQ(id_in(late), id_in(transport_.sent[0].body));  // the same record
  transport_.answer(200);
  dispatcher_->step(Now{probe, wall + waited});
  transport_.answer(200);
  dispatcher_->step(Now{probe, wall + waited});
  EXPECT_EQ(shared_->delivered.load(), 2u);
  EXPECT_EQ(transport_.sent[2].body.find("recordedAt"), transport_.sent[1].body.find("recordedAt"));
  expect_identity();
}

TEST_F(DispatcherTest, ThrottledSendsDoNotUseUpRetries) {
  build(1);
  push(t0_);
  TimePoint now = run_until_sent(t0_, 1);
  transport_.answer(429, "1");
  now = run_until_sent(now, 2);
  transport_.answer(429, "1");
  now = run_until_sent(now, 3);
  transport_.answer(503);  // the first transient failure: two retries left
  now = run_until_sent(now, 4);
  transport_.answer(503);
  now = run_until_sent(now, 5);
  ASSERT_EQ(transport_.sent.size(), 5u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_FALSE(transport_.sent[i].fresh_connection) << i;
  EXPECT_TRUE(transport_.sent[4].fresh_connection);  // the last permitted attempt
  transport_.answer(503);
  dispatcher_->step(Now{now, WallClock::now()});
  EXPECT_EQ(dropped(DropReason::kRetriesExhausted), 1u);
  EXPECT_EQ(shared_->requests_sent.load(), 5u);
  expect_identity();
}

TEST_F(DispatcherTest, TransferThatFailsToStartIsRetriedLikeANetworkFailure) {
  build();
  push(t0_);
  transport_.refuse_starts = 1;
  step(t0_);
  EXPECT_TRUE(transport_.sent.empty());
  EXPECT_EQ(dispatcher_->retry_waiting(), 1u);
  EXPECT_EQ(dispatcher_->in_flight(), 0u);
  EXPECT_EQ(shared_->requests_sent.load(), 0u);  // nothing reached the wire
  step(t0_ + 200ms);  // the first backoff is at most retry.base_delay
  ASSERT_EQ(transport_.sent.size(), 1u);
  transport_.answer(200);
  step(t0_ + 200ms);
  EXPECT_EQ(shared_->delivered.load(), 1u);
  EXPECT_EQ(shared_->requests_sent.load(), 1u);
  Stats stats;
  accounting_->fill(stats, TimePoint{});
  EXPECT_EQ(stats.last_error, "transport_error: could not start request");
  expect_identity();
}

TEST_F(DispatcherTest, OldRecordsAreDroppedNotSent) {
  build();
  push(t0_ - 61s);
  step(t0_);
  EXPECT_TRUE(transport_.sent.empty());
  EXPECT_EQ(dropped(DropReason::kTooOld), 1u);
  expect_identity();
}

TEST_F(DispatcherTest, StopAbortsInFlightAndDropsTheRest) {
  build(1);
  push(t0_);
  push(t0_);
  step(t0_);
  dispatcher_->stop(WallClock::time_point{});
  EXPECT_EQ(dropped(DropReason::kShutdown), 2u);
  expect_identity();
}

}  // namespace
}  // namespace opsmeter::detail
