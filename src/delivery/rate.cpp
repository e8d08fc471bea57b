// The adaptive send rate: evidence from the last answers, rates over the last second, cuts,
// a fading noise estimate, an additive climb and a cubic probe, token pacing with random gaps.
#include "delivery/rate.hpp"

#include <algorithm>
#include <bitset>
#include <cmath>

#include "base/random.hpp"

namespace opsmeter::detail {
namespace {

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

constexpr Clock::duration kBinWidth = std::chrono::milliseconds(100);
constexpr double kRampDoubling = 0.2;  // seconds
constexpr double kMaxRate = 1e7;  // requests/s
constexpr int kRampEvidence = 4;       // 429s after a ramp went past the limit, to measure it
constexpr int kRingBits = 64;
constexpr int kHoldAnswers = 16;  // a hold: half of these were 429s
// A gap without sends longer than this starts a new busy stretch.
constexpr Clock::duration kIdleGap = std::chrono::seconds(1);

}  // namespace

std::int64_t SendRate::period(TimePoint now) noexcept {
  return static_cast<std::int64_t>(now.time_since_epoch() / kBinWidth);
}

void SendRate::bin(TimePoint now, bool sent, bool accepted) noexcept {
  const std::int64_t p = period(now);
  const auto slot = static_cast<std::size_t>(((p % Bins::kCount) + Bins::kCount) % Bins::kCount);
  if (bins_.slot_of[slot] != p + 1) {  // + 1: a zeroed slot holds no period
    bins_.slot_of[slot] = p + 1;
    bins_.sent[slot] = 0;
    bins_.accepted[slot] = 0;
  }
  bins_.sent[slot] += sent ? 1 : 0;
  bins_.accepted[slot] += accepted ? 1 : 0;
}

double SendRate::per_second(TimePoint now, bool sent) const noexcept {
  const std::int64_t p = period(now);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < Bins::kCount; ++i) {
    const std::int64_t held = bins_.slot_of[i] - 1;
    if (bins_.slot_of[i] != 0 && held <= p && held > p - Bins::kCount) {
      total += sent ? bins_.sent[i] : bins_.accepted[i];
    }
  }
  return static_cast<double>(total);  // over one second
}

double SendRate::accepted_rate(TimePoint now) const noexcept { return per_second(now, false); }

void SendRate::outcome(TimePoint now, bool throttled) noexcept {
  if (skip_ > 0) {  // an answer to a request sent before the last cut
    --skip_;
    return;
  }
  outcomes_ = (outcomes_ << 1) | (throttled ? 1u : 0u);
  answers_ = std::min(answers_ + 1, 1 << 20);
  if (throttled || answers_since_first_ > 0) {
    answers_since_first_ = std::min(answers_since_first_ + 1, 1 << 20);
    throttled_since_first_ += throttled ? 1 : 0;
  }
  accepted_since_cut_ += throttled ? 0 : 1;
  if (trial_answers_ >= 0) {
    ++trial_answers_;
    trial_throttled_ += throttled ? 1 : 0;
    if (trial_answers_ >= kTrialAnswers) {
      noise_ = std::min(0.5, static_cast<double>(trial_throttled_) / trial_answers_);
      noise_at_ = now;
      trial_answers_ = -1;
    }
  }
}

int SendRate::throttled_among(int last) const noexcept {
  last = std::min({last, answers_, kRingBits});
  if (last <= 0) return 0;
  const std::uint64_t mask = last >= kRingBits ? ~std::uint64_t{0} : (std::uint64_t{1} << last) - 1;
  return static_cast<int>(std::bitset<kRingBits>(outcomes_ & mask).count());
}

double SendRate::additive_slope() const noexcept {
  return std::max(kAdditiveFloor, w_max_ * (1 - config_.decrease) / kBackWithin);
}

double SendRate::noise(TimePoint now) const noexcept {
  return noise_ * std::exp2(-seconds(now - noise_at_) / kNoiseHalfLife);
}

double SendRate::draw_cost() noexcept {
  const std::uint64_t z = mix64(seed_ += 0x9e3779b97f4a7c15ULL);  // SplitMix64
  const double u = (static_cast<double>(z >> 11) + 0.5) * 0x1p-53;  // in (0, 1)
  return (1 - kSpread) + kSpread * std::min(8.0, -std::log(u));      // an exponential, capped
}

double SendRate::depth() const noexcept { return std::max(1.0, rate_ * 0.05); }

// The bucket holds at least the next send's cost, or a large draw could never be paid.
double SendRate::full() const noexcept { return std::max(depth(), cost_); }

void SendRate::refill(TimePoint now) noexcept {
  if (now > refilled_at_) {
    tokens_ = std::min(full(), tokens_ + seconds(now - refilled_at_) * rate_);
    refilled_at_ = now;
  }
}

void SendRate::sent(TimePoint now) noexcept {
  if (!any_sent_ || now - last_sent_ > kIdleGap) busy_since_ = now;
  any_sent_ = true;
  last_sent_ = now;
  bin(now, true, false);
  if (!pacing_) return;
  refill(now);
  tokens_ -= cost_;
  cost_ = draw_cost();
}

void SendRate::grow(TimePoint now) noexcept {
  if (!pacing_ || now <= updated_at_) return;
  const Clock::duration dt = now - updated_at_;
  updated_at_ = now;
  refill(now);  // the tokens so far, at the old rate
  if (tokens_ >= full()) {
    origin_ += dt;  // the pace is not in use: the curve waits (an idle client learns nothing)
    return;
  }
  binding_at_ = now;
  const double t = seconds(now - origin_);
  // Back to the plateau at the same slope for every sender with a small share, then probe past
  // it along a cubic curve (see rate.hpp).
  const double slope = additive_slope();
  const double back = (w_max_ - cut_to_) / slope;  // seconds from the cut to the plateau
  double next = t < back ? cut_to_ + slope * t : w_max_ + growth_ * std::pow(t - back, 3);
  // After a first cut measured over a short busy stretch, the accepted rate is only a lower
  // bound: grow from it by doubling every kRampDoubling s, until the next cut.
  if (ramp_) next = std::max(next, ramp_from_ * std::exp2(t / kRampDoubling));
  // A ceiling far above any sender, so that the curve or the ramp, run for hours with sends
  // that keep using the pace, never reaches infinity (token arithmetic on it would be NaN).
  rate_ = std::clamp(next, config_.min_rate, kMaxRate);
}

bool SendRate::end_pacing(TimePoint now) noexcept {
  if (!pacing_) return false;
  if (now - binding_at_ < kCalm) return false;
  pacing_ = false;
  ramp_ = false;
  return true;
}

bool SendRate::answered(TimePoint now, bool accepted) noexcept {
  bin(now, false, accepted);
  outcome(now, false);
  grow(now);
  return end_pacing(now);
}

void SendRate::cut(TimePoint now, TimePoint origin, std::size_t in_flight) noexcept {
  // What the server accepted: over the last second, and over the time since the last cut (a
  // token bucket's burst inflates one second, which a whole cycle averages out), never more
  // than the pace itself. A ramp that overshot went past what the server allows: from its pace.
  double measured = accepted_rate(now);
  const bool first = !pacing_;
  if (first) {
    // A stretch shorter than the window measured only part of what the server allows.
    ramp_ = now - busy_since_ < std::chrono::seconds(1);
  } else if (ramp_) {
    // The ramp went past what the server allows: since its first 429, the server accepted
    // that share of what was sent at about this pace.
    const double refused = static_cast<double>(throttled_since_first_) / std::max(1, answers_since_first_);
    measured = rate_ * (1 - refused);
    ramp_ = false;
  } else {
    // Back near the last limit (not a climb from far below it), a token bucket's burst
    // inflates the last second: the whole cycle since the last cut averages it out.
    const double span = seconds(now - measure_from_);
    if (span >= 1.0 && w_max_ >= 0.7 * measured) measured = std::min(measured, accepted_since_cut_ / span);
    measured = std::min(measured, rate_);
  }
  // Nothing accepted in the last second (a server that refused everything) measured no rate:
  // grow from the floor as from a lower bound.
  if (accepted_rate(now) < 1) ramp_ = true;
  const double w_max = std::max(config_.min_rate, measured);
  // A limit found again where it was (within 15%) is stable: probe above it half as fast as
  // last time (down to an eighth); a limit that moved resets the growth.
  const bool stable = !first && w_max > 0.85 * w_max_ && w_max < 1.15 * w_max_;
  growth_ = stable ? std::max(config_.growth / 8, growth_ / 2) : config_.growth;
  w_max_ = w_max;
  rate_ = std::max(config_.min_rate, w_max_ * config_.decrease);
  cut_to_ = rate_;
  ramp_from_ = rate_;
  pacing_ = true;
  origin_ = std::max(now, origin);
  measure_from_ = origin_;
  updated_at_ = origin_;
  binding_at_ = origin_;
  tokens_ = first ? 1.0 : std::min(tokens_, 1.0);
  refilled_at_ = now;
  outcomes_ = 0;
  answers_ = 0;
  answers_since_first_ = 0;
  throttled_since_first_ = 0;
  accepted_since_cut_ = 0;
  skip_ = static_cast<int>(std::min<std::size_t>(in_flight, 1 << 20));
  trial_answers_ = 0;
  trial_throttled_ = 0;
}

RateVerdict SendRate::throttled(TimePoint now, TimePoint resume, std::size_t in_flight) noexcept {
  const bool counted = skip_ == 0;
  outcome(now, true);
  grow(now);
  RateVerdict verdict;
  if (!counted) return verdict;  // sent at the pace before the last cut
  const bool hold = throttled_among(kHoldAnswers) * 2 >= kHoldAnswers;
  const int n = std::min(answers_, kRingBits);
  const int t = throttled_among(n);
  bool rate_limited = false;
  if (!pacing_) {
    // No limit known yet: only a large share starts pacing (random 429s never reach it).
    rate_limited = n >= kStartAnswers && t >= kStartShare * n;
  } else if (answers_ >= kMinAnswers && t >= 2) {
    // A limit is known. Above it (the curve probing for more), 429s beyond the noise cut at
    // once; below it, they must also be more than kMinShare of the last answers.
    const double floor = noise_ > 0 ? 2 * noise(now) + kNoiseMargin : 0.0;
    rate_limited = t >= std::max(rate_ > w_max_ ? 0.0 : kMinShare, floor) * n &&
                   (!ramp_ || throttled_since_first_ >= kRampEvidence);
  }
  if (!hold && !rate_limited) return verdict;
  verdict.hold = hold;
  verdict.cut = true;
  verdict.pacing_started = !pacing_;
  cut(now, hold ? resume : now, in_flight);
  return verdict;
}

bool SendRate::may_send(TimePoint now) noexcept {
  if (!pacing_) return true;
  refill(now);
  return tokens_ >= cost_;
}

TimePoint SendRate::next_send(TimePoint now) noexcept {
  if (may_send(now)) return now;
  const double wait = (cost_ - tokens_) / rate_;
  return now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait)) +
         Clock::duration(1);
}

}  // namespace opsmeter::detail
