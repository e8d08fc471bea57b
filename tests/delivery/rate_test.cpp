// The adaptive send rate alone, on invented times: which 429s are evidence (none from a quiet
// client, a hold when most answers are 429s, a cut once a limit is known), the cut from the
// rate accepted over the last second, the noise estimate, cubic growth that waits while the pace
// is not in use, the end of pacing, the floor. The controller's behaviour against whole
// conditions (buckets, noise, fleets) is in rate_sim_test.cpp.
#include "delivery/rate.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace opsmeter::detail {
namespace {

using namespace std::chrono_literals;

const TimePoint t0 = TimePoint(1000s);

// `sent` requests evenly over the second before `end`, each answered 2xx (`accepted` of them)
// 1 ms later or not at all.
void history(SendRate& rate, int sent, int accepted, TimePoint end) {
  for (int i = 0; i < sent; ++i) {
    const TimePoint at = end - 1s + Clock::duration(1s) * i / sent;
    rate.sent(at);
    if (i < accepted) rate.answered(at + 1ms, true);
  }
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

// `count` sends 3 ms apart from `now` (moved on past them), every `every`th answered 429 and
// the rest 2xx. Returns the cuts.
int answers(SendRate& rate, TimePoint& now, int count, int every) {
  int cuts = 0;
  for (int i = 0; i < count; ++i, now += 3ms) {
    rate.sent(now);
    if (i % every == every - 1) {
      cuts += rate.throttled(now, now + 1s, 0).cut ? 1 : 0;
    } else {
      rate.answered(now, true);
    }
  }
  return cuts;
}

TEST(SendRate, UnlimitedUntilEvidence) {
  SendRate rate;
  history(rate, 300, 300, t0);
  EXPECT_FALSE(rate.pacing());
  EXPECT_EQ(rate.limit(), 0.0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(rate.may_send(t0));
  EXPECT_EQ(rate.next_send(t0), t0);
}

struct EvidenceRow {
  const char* name;
  int accepted_before;  // 2xx answers in the second before the 429s
  int throttled;        // then this many 429s in a row
  bool cut;             // whether the last one cut the pace
  bool hold;
};

void PrintTo(const EvidenceRow& row, std::ostream* os) { *os << row.name; }

class SendRateEvidence : public ::testing::TestWithParam<EvidenceRow> {};

TEST_P(SendRateEvidence, OnlyEnoughAnswersMove) {
  const EvidenceRow& row = GetParam();
  SendRate rate;
  history(rate, row.accepted_before, row.accepted_before, t0);
  RateVerdict last;
  int cuts = 0;
  for (int i = 0; i < row.throttled; ++i) {
    rate.sent(t0 + 1ms * i);
    last = rate.throttled(t0 + 1ms * i + 500us, t0 + 1s, 0);
    cuts += last.cut ? 1 : 0;
  }
  EXPECT_EQ(last.cut, row.cut);
  EXPECT_EQ(last.hold, row.hold);
  EXPECT_EQ(rate.pacing(), row.cut);
  EXPECT_LE(cuts, 1);
}

INSTANTIATE_TEST_SUITE_P(
    Table, SendRateEvidence,
    ::testing::Values(
        // A quiet client: one answer, a 429. Nothing measured, nothing learned.
        EvidenceRow{"quiet_client_one_429", 0, 1, false, false},
        EvidenceRow{"quiet_client_seven_429s", 0, 7, false, false},
        // A busy client's occasional 429s: no limit known, and far from a quarter of answers.
        EvidenceRow{"busy_client_one_429", 500, 1, false, false},
        EvidenceRow{"busy_client_seven_429s", 500, 7, false, false},
        // Half of the last 16 answers: the server refuses most of what is sent.
        EvidenceRow{"eight_of_sixteen_holds", 500, 8, true, true},
        EvidenceRow{"eight_429s_with_nothing_before_hold", 0, 8, true, true}),
    [](const ::testing::TestParamInfo<EvidenceRow>& row) { return std::string(row.param.name); });

// A hold cuts to `decrease` times what was accepted over the last second; the curve starts at
// the end of the Retry-After window.
TEST(SendRate, AHoldCutsFromTheLastSecond) {
  SendRate rate;
  // A steady second at 400/s, then the server refuses: 8 429s.
  history(rate, 400, 400, t0);
  RateVerdict v;
  for (int i = 0; i < 8; ++i) {
    rate.sent(t0 + 1ms * i);
    v = rate.throttled(t0 + 1ms * i + 1ms, t0 + 1s, 4);
  }
  ASSERT_TRUE(v.hold);
  ASSERT_TRUE(v.pacing_started);
  // The last second is counted in 100 ms bins: between 0.9 and 1 s of it.
  EXPECT_GE(rate.limit(), 0.8 * 400 * 0.9 - 1);
  EXPECT_LE(rate.limit(), 0.8 * 400 + 1);
  // Paced at the limit after the window: about that many in a second.
  const int sent = sends_between(rate, t0 + 1s, t0 + 2s);
  EXPECT_NEAR(sent, rate.limit(), rate.limit() * 0.1);
}

// Once a limit is known, answers to requests in flight at the cut are not evidence; later
// 429s above the learned limit cut again, and the next cut is from what was accepted.
TEST(SendRate, AKnownLimitIsProbedAndCutAgain) {
  SendRate rate;
  history(rate, 2000, 2000, t0 - 1s);  // a second at 2,000/s
  history(rate, 2000, 400, t0);        // then the server accepts 400/s of it
  for (int i = 0; i < 8; ++i) rate.throttled(t0 + 1ms * i, t0 + 1s, 4);
  ASSERT_TRUE(rate.pacing());
  const double first = rate.limit();
  const double learned = first / 0.8;
  EXPECT_LE(learned, 400 + 1);
  // The 4 requests in flight at the cut answer 429: ignored.
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(rate.throttled(t0 + 10ms, t0 + 1s, 4).cut);
  // Paced sends, all accepted, for 12 s: the pace grows past the learned rate.
  TimePoint now = t0 + 1s;
  for (; now < t0 + 13s; now += 1ms) {
    while (rate.pacing() && rate.may_send(now)) {
      rate.sent(now);
      rate.answered(now, true);
    }
  }
  ASSERT_TRUE(rate.pacing());
  EXPECT_GT(rate.limit(), learned);
  const double before = rate.limit();
  // Two 429s among the last answers, above the learned rate: a cut, from what was accepted
  // (the whole cycle since the last cut, back near the last limit), at most the pace.
  EXPECT_FALSE(rate.throttled(now, now + 1s, 0).cut);
  const RateVerdict v = rate.throttled(now, now + 1s, 0);
  EXPECT_TRUE(v.cut);
  EXPECT_FALSE(v.hold);
  EXPECT_FALSE(v.pacing_started);
  EXPECT_LE(rate.limit(), 0.8 * before + 1);
  EXPECT_GT(rate.limit(), 0.8 * first);
}

// 429s that do not become rarer when the pace falls are noise: after a cut, the share of 429s
// over the next 64 answers is the noise estimate, and a share near it no longer cuts. Without
// the estimate, one answer in ten being a 429 below the learned limit (more than kMinShare)
// would cut.
TEST(SendRate, 429sThatDoNotFallWithThePaceAreNoise) {
  SendRate rate;
  history(rate, 2000, 400, t0);
  for (int i = 0; i < 8; ++i) rate.throttled(t0 + 1ms * i, t0 + 1s, 0);
  ASSERT_TRUE(rate.pacing());
  EXPECT_EQ(rate.noise(), 0.0);
  TimePoint now = t0 + 1s;
  EXPECT_EQ(answers(rate, now, 64, 20), 0);  // 5%: below kMinShare, the trial runs to its end
  EXPECT_NEAR(rate.noise(), 3.0 / 64, 0.001);
  EXPECT_EQ(answers(rate, now, 300, 10), 0);  // 10%: below twice the noise plus the margin
  EXPECT_TRUE(rate.pacing());
}

// The noise estimate fades, halving every kNoiseHalfLife: in a fleet sharing one limit, the
// 429s after one process's cut are the others' for a while, and an estimate kept forever would
// exempt it from every later cut. Right after the trial a share of one in ten does not cut;
// three half-lives later (the floor back at kMinShare) it does.
TEST(SendRate, TheNoiseEstimateFades) {
  SendRate rate;
  history(rate, 2000, 400, t0);
  for (int i = 0; i < 8; ++i) rate.throttled(t0 + 1ms * i, t0 + 1s, 0);
  TimePoint now = t0 + 1s;
  EXPECT_EQ(answers(rate, now, 64, 16), 0);  // 4 of 64: the noise is 1/16
  ASSERT_NEAR(rate.noise(), 1.0 / 16, 0.001);
  EXPECT_NEAR(rate.noise(now + std::chrono::seconds(static_cast<int>(SendRate::kNoiseHalfLife))), 1.0 / 32, 0.001);
  EXPECT_EQ(answers(rate, now, 100, 10), 0);  // 10%: below 2 * 1/16 + the margin
  now += std::chrono::seconds(static_cast<int>(3 * SendRate::kNoiseHalfLife));
  EXPECT_GE(answers(rate, now, 100, 10), 1);
}

// The same share of 429s with no noise learned cuts.
TEST(SendRate, TheSameShareWithoutNoiseCuts) {
  SendRate rate;
  history(rate, 2000, 400, t0);
  for (int i = 0; i < 8; ++i) rate.throttled(t0 + 1ms * i, t0 + 1s, 0);
  TimePoint now = t0 + 1s;
  EXPECT_GE(answers(rate, now, 300, 10), 1);
}

// An idle client does not drift: the curve waits while the pace is not in use, so a burst
// after a quiet minute starts at the pace it left.
TEST(SendRate, TheCurveWaitsWhileThePaceIsNotInUse) {
  SendRate rate;
  history(rate, 400, 400, t0);
  for (int i = 0; i < 8; ++i) rate.throttled(t0, t0 + 1s, 0);
  const double pace = rate.limit();
  rate.answered(t0 + 20s, true);  // nothing sent for 20 s
  EXPECT_NEAR(rate.limit(), pace, 1.0);
  EXPECT_TRUE(rate.pacing());
  // Unused for kCalm: pacing ends.
  EXPECT_TRUE(rate.answered(t0 + 1s + SendRate::kCalm + 1s, true));
  EXPECT_FALSE(rate.pacing());
}

// The climb: a straight line from the cut back to the learned rate, at
// max(kAdditiveFloor, W_max * (1 - decrease) / kBackWithin) requests/s per s, then a cubic
// probe above it. Pacing does not end while the sends use it; it ends once they have not for
// kCalm.
TEST(SendRate, ClimbBackThenProbeThenPacingEnds) {
  const RateConfig config;
  SendRate rate(config);
  history(rate, 1000, 500, t0);
  for (int i = 0; i < 8; ++i) rate.throttled(t0, t0, 0);
  ASSERT_TRUE(rate.pacing());
  const double cut_to = rate.limit();
  const double w_max = cut_to / config.decrease;
  const double slope = std::max(SendRate::kAdditiveFloor, w_max * (1 - config.decrease) / SendRate::kBackWithin);
  const double back = (w_max - cut_to) / slope;
  // Keep the pace in use (sends take every token) and answers coming.
  TimePoint now = t0;
  const auto run_to = [&](double seconds) {
    const TimePoint end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    bool ended = false;
    for (; now < end; now += 1ms) {
      while (rate.pacing() && rate.may_send(now)) rate.sent(now);
      ended = rate.answered(now, true) || ended;
    }
    return ended;
  };
  EXPECT_FALSE(run_to(back * 0.5));
  EXPECT_NEAR(rate.limit(), cut_to + slope * back * 0.5, w_max * 0.01);  // a straight line
  EXPECT_FALSE(run_to(back));
  EXPECT_NEAR(rate.limit(), w_max, w_max * 0.01);
  EXPECT_FALSE(run_to(back + 2));
  EXPECT_NEAR(rate.limit(), w_max + config.growth * 8, w_max * 0.01);  // the cubic probe
  EXPECT_FALSE(run_to(back + 10));  // far above: still in use, still pacing
  EXPECT_GT(rate.limit(), w_max + config.growth * 400);
  EXPECT_TRUE(rate.pacing());
  // The sends stop using it (answers come, nothing is sent): it ends after kCalm.
  const TimePoint idle_from = now;
  EXPECT_FALSE(rate.answered(idle_from + SendRate::kCalm - 1s, true));
  EXPECT_TRUE(rate.answered(idle_from + SendRate::kCalm + 1s, true));
  EXPECT_FALSE(rate.pacing());
}

// Two senders sharing one limit, one with two and a half times the other's share: a cut takes
// more from the larger, the climb gives both the same, so the gap between them narrows with
// each cycle (a curve back to each one's own rate would keep it).
TEST(SendRate, SharesConvergeUnderOneLimit) {
  SendRate small, large;
  history(small, 40, 40, t0);
  history(large, 100, 100, t0);
  for (int i = 0; i < 8; ++i) {
    small.throttled(t0, t0, 0);
    large.throttled(t0, t0, 0);
  }
  ASSERT_TRUE(small.pacing() && large.pacing());
  const double gap_at_cut = large.limit() - small.limit();
  const double small_at_cut = small.limit();
  EXPECT_NEAR(gap_at_cut, 0.8 * (100 - 40), 0.8 * 100 * 0.1 + 1);  // the bins hold 0.9-1 s
  // Both climb while their sends use the pace, for a second (neither is back at its own rate).
  for (TimePoint now = t0; now < t0 + 1s; now += 1ms) {
    for (SendRate* rate : {&small, &large}) {
      while (rate->may_send(now)) rate->sent(now);
      rate->answered(now, true);
    }
  }
  EXPECT_NEAR(small.limit(), small_at_cut + SendRate::kAdditiveFloor, 0.5);
  EXPECT_NEAR(large.limit() - small.limit(), gap_at_cut, 0.5);  // the same slope
  EXPECT_LT(large.limit() / small.limit(), 100.0 / 40);         // the ratio narrowed
}

// Paced sends are spaced at random around the pace: the rate holds, the gaps vary (an evenly
// spaced sender would never arrive soon after itself at a nearly empty server bucket), and the
// same seed gives the same gaps.
TEST(SendRate, PacedGapsAreRandomAroundThePace) {
  const auto gaps = [](std::uint64_t seed) {
    SendRate rate(RateConfig{0.8, 0.4, 1.0, seed});
    history(rate, 400, 400, t0);
    for (int i = 0; i < 8; ++i) rate.throttled(t0, t0, 0);
    std::vector<double> out;
    TimePoint last = t0;
    // Answers keep coming without a 429 (the pace climbs slowly: a fraction per second).
    for (TimePoint now = t0; now < t0 + 5s; now += 100us) {
      while (rate.may_send(now)) {
        rate.sent(now);
        out.push_back(std::chrono::duration<double>(now - last).count());
        last = now;
      }
    }
    return std::make_pair(out, rate.limit());
  };
  const auto [a, limit] = gaps(1);
  const auto n = static_cast<double>(a.size());
  double mean = 0, square = 0;
  for (double g : a) mean += g / n;
  for (double g : a) square += (g - mean) * (g - mean) / n;
  EXPECT_NEAR(n / 5.0, 0.8 * 400, 0.8 * 400 * 0.15);  // about the pace (it climbs a little)
  EXPECT_LE(n / 5.0, limit);
  const double variation = std::sqrt(square) / mean;  // 0 when even, 1 for random arrivals
  EXPECT_GT(variation, 0.3);
  EXPECT_LT(variation, 0.8);
  EXPECT_EQ(gaps(1).first, a);
  EXPECT_NE(gaps(2).first, a);
}

// Hours of a pace in use and never a 429: the ramp and the curve stop at a ceiling, and the
// next send time stays a number.
TEST(SendRate, NeverAboveTheCeiling) {
  SendRate rate;
  for (int i = 0; i < 8; ++i) rate.throttled(t0, t0, 0);  // a hold with nothing accepted: ramps
  ASSERT_TRUE(rate.pacing());
  for (TimePoint now = t0; now < t0 + 10h; now += 1s) {
    rate.sent(now);  // takes a token: the pace stays in use
    rate.answered(now, true);
  }
  EXPECT_TRUE(rate.pacing());
  EXPECT_LE(rate.limit(), 1e7);
  EXPECT_GT(rate.limit(), 1e6);
  const TimePoint next = rate.next_send(t0 + 10h);
  EXPECT_GE(next, t0 + 10h);
  EXPECT_LE(next, t0 + 10h + 1s);
}

TEST(SendRate, NeverBelowTheFloor) {
  SendRate rate(RateConfig{0.5, 0.4, 2.0});
  for (int i = 0; i < 8; ++i) rate.throttled(t0, t0, 0);  // nothing accepted at all
  ASSERT_TRUE(rate.pacing());
  EXPECT_EQ(rate.limit(), 2.0);
  rate.sent(t0);  // the token the pace started with
  EXPECT_FALSE(rate.may_send(t0));
  // The next gap is random: between (1 - kSpread) and (1 + 7 * kSpread) tokens at 2/s.
  const TimePoint next = rate.next_send(t0);
  EXPECT_GE(next, t0 + 249ms);
  EXPECT_LE(next, t0 + 2251ms);
}

}  // namespace
}  // namespace opsmeter::detail
