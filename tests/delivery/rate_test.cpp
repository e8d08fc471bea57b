// The adaptive send rate alone, on invented times: unlimited until a 429; a cut to `decrease`
// times the accepted rate; token pacing at that rate; cubic growth from the resume, back to the
// old rate at K seconds and past it; pacing ends above the rate sent before the first 429; the
// floor holds.
#include "delivery/rate.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace opsmeter::detail {
namespace {

using namespace std::chrono_literals;

const TimePoint t0 = TimePoint(1000s);

// A second of history before `end`: `sent` requests and `accepted` 2xx answers, evenly spread.
void history(SendRate& rate, double sent, double accepted, TimePoint end) {
  const Clock::duration second = 1s;
  const auto n = static_cast<int>(sent);
  for (int i = 0; i < n; ++i) rate.sent(end - second + second * i / n);
  const auto m = static_cast<int>(accepted);
  for (int i = 0; i < m; ++i) rate.answered(end - second + second * i / m, true);
}

// How many sends the pacing lets through between `from` and `to`, trying every 100 µs.
int sends_between(SendRate& rate, TimePoint from, TimePoint to) {
  int sent = 0;
  for (TimePoint t = from; t < to; t += 100us) {
    while (rate.may_send(t)) {
      rate.sent(t);
      ++sent;
    }
  }
  return sent;
}

TEST(SendRate, UnlimitedUntilA429) {
  SendRate rate;
  history(rate, 300, 300, t0);
  EXPECT_FALSE(rate.pacing());
  EXPECT_EQ(rate.limit(), 0.0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(rate.may_send(t0));
  EXPECT_EQ(rate.next_send(t0), t0);
}

struct CutRow {
  const char* name;
  double accepted;  // 2xx per second before the 429 (the client sent twice as many)
  RateConfig config;
  double limit;     // right after the cut
  double k;         // seconds after the resume until the curve is back at the accepted rate
};

void PrintTo(const CutRow& row, std::ostream* os) { *os << row.name; }

class SendRateCuts : public ::testing::TestWithParam<CutRow> {};

TEST_P(SendRateCuts, CutThenPaceThenGrowBackThenStop) {
  const CutRow& row = GetParam();
  SendRate rate(row.config);
  history(rate, 2 * row.accepted, row.accepted, t0);
  EXPECT_NEAR(rate.accepted_rate(t0), row.accepted, 1.0);
  const TimePoint resume = t0 + 1s;  // the Retry-After window
  EXPECT_TRUE(rate.throttled(t0, resume));
  EXPECT_TRUE(rate.pacing());
  EXPECT_NEAR(rate.limit(), row.limit, 1.0);
  // Paced at the limit: one second lets through about that many, plus at most 50 ms' worth.
  const int sent = sends_between(rate, resume, resume + 1s);
  EXPECT_GE(sent, static_cast<int>(row.limit) - 2);
  EXPECT_LE(sent, static_cast<int>(row.limit + std::max(1.0, row.limit * 0.05)) + 2);
  EXPECT_GT(rate.next_send(resume + 1s), resume + 1s - 1ms);
  // Growth from the resume: below the old rate before K, at it at K, past it after; pacing
  // stops once above the rate sent before the first 429 (twice the accepted rate here).
  const auto at = [&](double seconds) {
    return resume + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  };
  EXPECT_FALSE(rate.answered(at(row.k * 0.5), true));
  EXPECT_LT(rate.limit(), row.accepted);
  EXPECT_GT(rate.limit(), row.limit - 1.0);
  EXPECT_FALSE(rate.answered(at(row.k), true));
  EXPECT_NEAR(rate.limit(), row.accepted, 1.0);
  EXPECT_FALSE(rate.answered(at(row.k + 0.5), true));
  EXPECT_GT(rate.limit(), row.accepted);
  const double past = std::cbrt(row.accepted / row.config.growth);  // growth * past^3 = accepted
  EXPECT_TRUE(rate.answered(at(row.k + past + 0.1), true));
  EXPECT_FALSE(rate.pacing());
  EXPECT_TRUE(rate.may_send(at(row.k + past + 0.1)));
}

INSTANTIATE_TEST_SUITE_P(
    Table, SendRateCuts,
    ::testing::Values(
        // K = cbrt(W_max * (1 - decrease) / growth)
        CutRow{"defaults_800", 800, RateConfig{}, 640, std::cbrt(800 * 0.2 / 0.4)},
        CutRow{"defaults_50", 50, RateConfig{}, 40, std::cbrt(50 * 0.2 / 0.4)},
        CutRow{"gentle_cut", 500, RateConfig{0.9, 0.4, 1.0}, 450, std::cbrt(500 * 0.1 / 0.4)},
        CutRow{"fast_growth", 500, RateConfig{0.7, 4.0, 1.0}, 350, std::cbrt(500 * 0.3 / 4.0)}),
    [](const ::testing::TestParamInfo<CutRow>& row) { return std::string(row.param.name); });

TEST(SendRate, ASecond429WhilePacingCutsFromWhatWasAcceptedSinceTheResume) {
  SendRate rate;
  history(rate, 2000, 1000, t0);
  ASSERT_TRUE(rate.throttled(t0, t0 + 1s));
  EXPECT_NEAR(rate.limit(), 800, 1.0);
  // 300 accepted in the 2 s after the resume: the next cut is from 150/s.
  for (int i = 0; i < 300; ++i) rate.answered(t0 + 1s + 2s * i / 300, true);
  EXPECT_FALSE(rate.throttled(t0 + 3s, t0 + 4s));
  EXPECT_NEAR(rate.limit(), 120, 1.0);
  // A refilled server bucket makes a short span look fast: never more than the pace itself.
  for (int i = 0; i < 50; ++i) rate.answered(t0 + 4s + 1ms * i / 5, true);
  rate.answered(t0 + 4s + 20ms, true);  // the curve moves the pace a little
  const double pace = rate.limit();
  EXPECT_FALSE(rate.throttled(t0 + 4s + 20ms, t0 + 5s));
  EXPECT_NEAR(rate.limit(), 0.8 * pace, 1.0);
}

TEST(SendRate, NeverBelowTheFloor) {
  SendRate rate(RateConfig{0.5, 0.4, 2.0});
  ASSERT_TRUE(rate.throttled(t0, t0));  // nothing accepted at all
  EXPECT_EQ(rate.limit(), 2.0);
  for (int i = 1; i <= 10; ++i) rate.throttled(t0 + i * 2s, t0 + i * 2s);
  EXPECT_EQ(rate.limit(), 2.0);
  EXPECT_TRUE(rate.may_send(t0 + 21s));  // a token after half a second at 2/s
  rate.sent(t0 + 21s);
  EXPECT_FALSE(rate.may_send(t0 + 21s));
  const TimePoint next = rate.next_send(t0 + 21s);
  EXPECT_GE(next, t0 + 21s + 499ms);
  EXPECT_LE(next, t0 + 21s + 501ms);
}

}  // namespace
}  // namespace opsmeter::detail
