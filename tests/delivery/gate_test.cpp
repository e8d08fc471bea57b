// The delivery gate alone, with invented times: throttle windows start, extend and never
// shrink; a pause closes the gate, its end lets one probe through, a delivery reopens it; every
// change publishes a new snapshot and leaves the old one as it was.
#include "delivery/gate.hpp"

#include <gtest/gtest.h>

namespace opsmeter::detail {
namespace {

using namespace std::chrono_literals;

class GateTest : public ::testing::Test {
 protected:
  const TimePoint t0_ = TimePoint(1000s);
  std::atomic<std::int64_t> paused_until_ns_{0};
  std::atomic<bool> unreachable_{false};
  DeliveryGate gate_{4, paused_until_ns_, unreachable_};

  bool throttle(TimePoint until, TimePoint now) { return gate_.throttle(until, now, 0).throttling_started; }
};

TEST_F(GateTest, OpenUntilTheInFlightLimit) {
  EXPECT_TRUE(gate_.may_send(t0_, 0));
  EXPECT_TRUE(gate_.may_send(t0_, 3));
  EXPECT_FALSE(gate_.may_send(t0_, 4));
  EXPECT_EQ(gate_.next_change(t0_, t0_ + 1s), t0_ + 1s);
  const auto status = gate_.status();
  EXPECT_FALSE(status->paused);
  EXPECT_EQ(status->throttled_until, TimePoint{});
}

// Throttling is a state: it starts with a 429, lasts while any 429's window is open (later
// ones extend it, earlier ones do not shorten it) and ends once, when the last window ends. A
// lone 429 holds only its record: the gate stays open for the others.
TEST_F(GateTest, ThrottlingStartsExtendsAndEndsOnce) {
  EXPECT_TRUE(throttle(t0_ + 2s, t0_));  // throttling starts
  EXPECT_TRUE(gate_.may_send(t0_ + 1ms, 0));
  EXPECT_EQ(gate_.held_until(), TimePoint{});
  EXPECT_EQ(gate_.next_change(t0_, t0_ + 10s), t0_ + 2s);  // its end is a change to look at
  EXPECT_FALSE(throttle(t0_ + 3s, t0_ + 1s));  // extends it: no new start
  EXPECT_EQ(gate_.throttled_until(), t0_ + 3s);
  EXPECT_FALSE(throttle(t0_ + 2500ms, t0_ + 1s));  // earlier: does not shorten it
  EXPECT_EQ(gate_.throttled_until(), t0_ + 3s);
  EXPECT_EQ(gate_.status()->throttled_until, t0_ + 3s);
  EXPECT_FALSE(gate_.throttling_ended(t0_ + 2999ms).has_value());
  // Every window ended, but nothing was accepted since the last 429: not over yet (the first
  // sends after a hold may be refused again).
  EXPECT_FALSE(gate_.throttling_ended(t0_ + 3s).has_value());
  gate_.rate_answer(t0_ + 3100ms, true);
  const std::optional<Millis> lasted = gate_.throttling_ended(t0_ + 3100ms);
  ASSERT_TRUE(lasted.has_value());
  EXPECT_EQ(*lasted, 3100ms);
  EXPECT_FALSE(gate_.throttling_ended(t0_ + 4s).has_value());  // reported once
  EXPECT_EQ(gate_.status()->throttled_until, TimePoint{});
  EXPECT_TRUE(throttle(t0_ + 5s, t0_ + 4s));  // a new start
  // With nothing sent, it is over a minute after its last window.
  EXPECT_FALSE(gate_.throttling_ended(t0_ + 64s).has_value());
  EXPECT_TRUE(gate_.throttling_ended(t0_ + 65s).has_value());
}

// When most answers are 429s (half of the last 16), the whole sender holds until that 429's
// window ends, and the pace is cut.
TEST_F(GateTest, MostAnswers429HoldTheWholeSender) {
  ThrottleEvents events;
  for (int i = 0; i < 8; ++i) events = gate_.throttle(t0_ + 2s, t0_ + 1ms * i, 3);
  EXPECT_TRUE(events.hold_started);
  EXPECT_TRUE(events.cut);
  EXPECT_TRUE(events.pacing_started);
  EXPECT_EQ(gate_.held_until(), t0_ + 2s);
  EXPECT_FALSE(gate_.may_send(t0_ + 1999ms, 0));
  EXPECT_GT(gate_.send_rate_limit(), 0.0);
  EXPECT_EQ(gate_.status()->held_until, t0_ + 2s);
  EXPECT_GE(gate_.opens_at(t0_ + 10ms), t0_ + 2s);
}

// Over HTTP/2 the transport carries more requests than the HTTP/1.1 count the gate was made
// with; the limit opens one per accepted answer and closes back at a 429.
TEST_F(GateTest, MoreStreamsOpenWithAcceptedAnswersAndCloseAtA429) {
  gate_.set_max_in_flight(100);
  EXPECT_EQ(gate_.send_limit(), 4u);
  for (int i = 0; i < 10; ++i) gate_.rate_answer(t0_, true);
  EXPECT_EQ(gate_.send_limit(), 14u);
  gate_.rate_answer(t0_, false);  // a 5xx opens nothing
  EXPECT_EQ(gate_.send_limit(), 14u);
  for (int i = 0; i < 200; ++i) gate_.rate_answer(t0_, true);
  EXPECT_EQ(gate_.send_limit(), 100u);
  gate_.throttle(t0_ + 1s, t0_, 0);
  EXPECT_EQ(gate_.send_limit(), 4u);
  gate_.set_max_in_flight(4);  // the server answered over HTTP/1.1 again
  for (int i = 0; i < 10; ++i) gate_.rate_answer(t0_ + 2s, true);
  EXPECT_EQ(gate_.send_limit(), 4u);
}

TEST_F(GateTest, PauseThenOneProbeThenResume) {
  EXPECT_FALSE(gate_.pause(t0_ + 10s, "plan_limit_reached"));  // was not paused
  EXPECT_EQ(paused_until_ns_.load(), to_ns(t0_ + 10s));        // record() sees the pause
  EXPECT_TRUE(gate_.paused());
  EXPECT_FALSE(gate_.may_send(t0_ + 5s, 0));
  EXPECT_EQ(gate_.next_change(t0_, t0_ + 60s), t0_ + 10s);

  gate_.advance(t0_ + 9999ms);
  EXPECT_TRUE(gate_.paused());
  gate_.advance(t0_ + 10s);
  EXPECT_FALSE(gate_.paused());
  EXPECT_EQ(gate_.send_limit(), 1u);  // probing: one request decides
  EXPECT_TRUE(gate_.may_send(t0_ + 10s, 0));
  EXPECT_FALSE(gate_.may_send(t0_ + 10s, 1));
  EXPECT_TRUE(gate_.status()->paused);  // still paused for status() until the probe succeeds

  EXPECT_TRUE(gate_.pause(t0_ + 20s, "plan_limit_reached"));  // the probe got another 402
  gate_.advance(t0_ + 20s);
  EXPECT_EQ(gate_.delivered(), std::optional<std::string>("plan_limit_reached"));  // the pause ended
  EXPECT_EQ(gate_.send_limit(), 4u);
  EXPECT_FALSE(gate_.status()->paused);
  EXPECT_EQ(gate_.status()->pause_reason, "");
  EXPECT_EQ(gate_.delivered(), std::nullopt);  // nothing left to end
}

TEST_F(GateTest, SnapshotsAreImmutable) {
  const std::shared_ptr<const GateStatus> before = gate_.status();
  gate_.pause(t0_ + 10s, "plan_limit_reached");
  const std::shared_ptr<const GateStatus> during = gate_.status();
  EXPECT_FALSE(before->paused);
  EXPECT_TRUE(during->paused);
  EXPECT_EQ(during->pause_reason, "plan_limit_reached");
  EXPECT_EQ(during->paused_until, t0_ + 10s);
  EXPECT_NE(before.get(), during.get());
}

TEST_F(GateTest, OutageHoldsUntilProbesWithGrowingJitteredWaits) {
  const TimePoint before = t0_ - 50ms;  // requests sent before the outage began
  EXPECT_EQ(gate_.connection_failed(t0_, before, 0.0, "connect_failed: refused"),  // starts: 1 s, half drawn
            std::optional<std::string>("connect_failed: refused"));
  EXPECT_TRUE(gate_.unreachable());
  EXPECT_TRUE(unreachable_.load());  // what flush waiters read
  EXPECT_EQ(gate_.status()->next_probe_at, t0_ + 500ms);
  EXPECT_EQ(gate_.send_limit(), 1u);
  EXPECT_FALSE(gate_.may_send(t0_ + 499ms, 0));
  EXPECT_EQ(gate_.next_change(t0_, t0_ + 10s), t0_ + 500ms);
  EXPECT_EQ(gate_.opens_at(t0_), t0_ + 500ms);
  EXPECT_EQ(gate_.connection_failed(t0_ + 100ms, before, 1.0, "x"), std::nullopt);  // before the probe: no change
  EXPECT_EQ(gate_.status()->next_probe_at, t0_ + 500ms);
  EXPECT_TRUE(gate_.may_send(t0_ + 500ms, 0));
  EXPECT_FALSE(gate_.may_send(t0_ + 500ms, 1));  // one probe at a time
  // Failed probes: 2 s, 4 s, ... up to 60 s, each half fixed and half drawn.
  TimePoint now = t0_ + 500ms;
  const Millis expected_full[] = {2000ms, 4000ms, 8000ms, 16000ms, 32000ms, 60000ms, 60000ms};
  for (Millis full : expected_full) {
    EXPECT_EQ(gate_.connection_failed(now, now, 1.0, "connect_failed: refused"), std::nullopt);
    EXPECT_EQ(gate_.status()->next_probe_at, now + full) << full.count();
    now = gate_.status()->next_probe_at;
  }
  const auto status = gate_.status();
  EXPECT_TRUE(status->unreachable);
  EXPECT_EQ(status->unreachable_since, t0_);
  EXPECT_EQ(status->unreachable_reason, "connect_failed: refused");
  EXPECT_EQ(gate_.answered(now + 5ms, now), std::chrono::duration_cast<Millis>(now + 5ms - t0_));  // how long it lasted
  EXPECT_FALSE(gate_.unreachable());
  EXPECT_FALSE(unreachable_.load());
  EXPECT_EQ(gate_.answered(now + 6ms, now), std::nullopt);  // already reachable
  EXPECT_EQ(gate_.send_limit(), 4u);
  EXPECT_TRUE(gate_.may_send(now + 6ms, 3));
  EXPECT_FALSE(status->unreachable == gate_.status()->unreachable);  // a new snapshot
  // A new outage starts again from the shortest wait.
  EXPECT_TRUE(gate_.connection_failed(now + 10ms, now + 9ms, 1.0, "tls_error: untrusted").has_value());
  EXPECT_EQ(gate_.status()->next_probe_at, now + 10ms + 1000ms);
}

// What ends an outage, and what does not move it: a table of answers and failures after an
// outage began at t0 (the first probe due at t0 + 500 ms).
TEST_F(GateTest, OnlyWhatWasSentSinceTheOutageBeganJudgesIt) {
  struct Row {
    const char* what;
    bool answer;  // an HTTP answer, else a failed connection
    Millis sent;  // relative to t0
    Millis at;
    bool ends;         // the answer ends the outage
    Millis next_probe;  // afterwards, relative to t0
  };
  const Row rows[] = {
      // An answer already on its way when the connections were reset, read in the same
      // collection as the reset: the API is not back.
      {"pre-outage answer, same collection", true, -20ms, 0ms, false, 500ms},
      {"pre-outage answer, later", true, -20ms, 300ms, false, 500ms},
      // A slow pre-outage request that fails once the probe is due is not the probe.
      {"pre-outage failure after the probe was due", false, -20ms, 700ms, false, 500ms},
      // The probe's answer ends it, and its failure doubles the wait.
      {"probe answered", true, 500ms, 520ms, true, 500ms},
      {"probe failed", false, 500ms, 520ms, false, 520ms + 1000ms},
  };
  for (const Row& row : rows) {
    std::atomic<std::int64_t> paused_until{0};
    std::atomic<bool> unreachable{false};
    DeliveryGate gate(4, paused_until, unreachable);
    ASSERT_TRUE(gate.connection_failed(t0_, t0_ - 30ms, 0.0, "network: reset").has_value()) << row.what;
    if (row.answer) {
      const std::optional<Millis> lasted = gate.answered(t0_ + row.at, t0_ + row.sent);
      EXPECT_EQ(lasted.has_value(), row.ends) << row.what;
      if (row.ends) {
        EXPECT_EQ(*lasted, row.at) << row.what;
      }
    } else {
      EXPECT_EQ(gate.connection_failed(t0_ + row.at, t0_ + row.sent, 0.0, "network: reset"), std::nullopt) << row.what;
    }
    EXPECT_EQ(gate.unreachable(), !row.ends) << row.what;
    EXPECT_EQ(unreachable.load(), !row.ends) << row.what;  // what flush waiters read
    if (!row.ends) {
      EXPECT_EQ(gate.status()->next_probe_at, t0_ + row.next_probe) << row.what;
      EXPECT_EQ(gate.status()->unreachable_since, t0_) << row.what;
    }
  }
}

}  // namespace
}  // namespace opsmeter::detail
