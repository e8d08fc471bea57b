// The send rate after 429s: a client-side rate limiter that lowers the pace only on evidence
// that the send rate caused the 429s, and learns the pace from recent windows.
//
// What counts as evidence (every 429 is judged; a pure function of the times it is given):
// - Nothing, while fewer than kMinAnswers answers were seen since the last cut: a quiet client
//   with a handful of sends has measured nothing, and its 429 only delays that record.
// - A rate limit ("cut"): the share of 429s among the last answers (at most 64) is above the
//   noise floor: max(kMinShare, 2 * noise + kNoiseMargin). The pace is cut to `decrease` times
//   the rate the server accepted over the last second (at most the pace itself), then grows
//   back along a CUBIC curve, W(t) = growth * (t - K)^3 + W_max, K = cbrt(W_max * (1 -
//   decrease) / growth), where W_max is that accepted rate.
// - Noise: after each cut, the share of 429s over the next kTrialAnswers answers, sent at the
//   lower pace, becomes the noise estimate. 429s that do not become rarer when the pace falls
//   (overload shedding, a concurrency cap, a noisy neighbour) then no longer cut it; 429s from
//   a real limit stop once the pace is below it, and the estimate falls back to ~0.
// - A hold: at least half of the last 16 answers were 429s. The server refuses most of what is
//   sent; the whole sender waits for that 429's Retry-After (the gate's window), and cuts once.
// Rates are measured over the last second, not since the first send. Growth only runs while
// sends use the pace (an idle client does not drift to an unlimited rate), and pacing ends on
// evidence: sends have not used the whole pace for kCalm (the limit, if any, is above what the
// client wants to send).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "base/clock.hpp"

namespace opsmeter::detail {

struct RateConfig {
  double decrease = 0.8;  // multiplicative decrease on a cut (AWS uses 0.7; see the README)
  double growth = 0.4;    // scale of the cubic growth, requests/s per s^3
  double min_rate = 1.0;  // requests/s; the limit never goes below
};

// What one 429 meant for the send rate.
struct RateVerdict {
  bool cut = false;             // the pace was lowered
  bool pacing_started = false;  // ... and pacing began with it
  bool hold = false;            // the whole sender waits for this 429's Retry-After
};

class SendRate {
 public:
  static constexpr int kMinAnswers = 16;     // answers since the last cut before any judgement
  static constexpr int kTrialAnswers = 64;   // answers after a cut that measure the noise
  static constexpr int kStartAnswers = 32;   // ... and with no limit known yet
  static constexpr double kStartShare = 0.25;
  static constexpr double kMinShare = 0.08;  // the least share of 429s that cuts
  static constexpr double kNoiseMargin = 0.03;
  static constexpr Millis kCalm{30000};      // pacing ends when not in use for this long

  explicit SendRate(RateConfig config = {}) noexcept : config_(config) {}

  // A request starts at `now` (takes a token while pacing).
  void sent(TimePoint now) noexcept;
  // An answer that is not a 429 at `now`; `accepted`: a 2xx. True when this ends pacing.
  bool answered(TimePoint now, bool accepted) noexcept;
  // A 429 at `now`, whose Retry-After window ends at `resume`, with `in_flight` requests still
  // out: what it means for the pace (see above). After a cut, the answers to the requests in
  // flight at the time are not evidence about the new pace.
  RateVerdict throttled(TimePoint now, TimePoint resume, std::size_t in_flight) noexcept;

  bool pacing() const noexcept { return pacing_; }
  double limit() const noexcept { return pacing_ ? rate_ : 0.0; }  // requests/s; 0: none
  double noise() const noexcept { return noise_; }  // the estimated share of 429s that are noise
  // Whether a request may start at `now`, and if not, when the next one may.
  bool may_send(TimePoint now) noexcept;
  TimePoint next_send(TimePoint now) noexcept;
  // 2xx answers over the last second, per second, as of `now`.
  double accepted_rate(TimePoint now) const noexcept;

 private:
  // Counts per 100 ms over the last second.
  struct Bins {
    static constexpr int kCount = 10;
    std::array<std::int64_t, kCount> slot_of{};  // which 100 ms period each slot holds
    std::array<std::uint32_t, kCount> sent{};
    std::array<std::uint32_t, kCount> accepted{};
  };
  static std::int64_t period(TimePoint now) noexcept;
  void bin(TimePoint now, bool sent, bool accepted) noexcept;
  double per_second(TimePoint now, bool sent) const noexcept;
  void outcome(bool throttled) noexcept;
  int throttled_among(int last) const noexcept;  // 429s among the last `last` answers
  void cut(TimePoint now, TimePoint origin, std::size_t in_flight) noexcept;
  void grow(TimePoint now) noexcept;
  void refill(TimePoint now) noexcept;
  double depth() const noexcept;  // the token bucket's depth
  bool end_pacing(TimePoint now) noexcept;

  const RateConfig config_;
  Bins bins_;
  std::uint64_t outcomes_ = 0;  // the last answers since the last cut, newest in bit 0; 1 = 429
  int answers_ = 0;             // answers since the last cut (saturates)
  int skip_ = 0;                // answers still due to requests sent before the last cut
  double accepted_since_cut_ = 0;
  int answers_since_first_ = 0;    // answers since the first 429 after the last cut
  int throttled_since_first_ = 0;
  int trial_answers_ = -1;      // answers since the last cut while measuring the noise; -1: none
  int trial_throttled_ = 0;
  double noise_ = 0;

  bool pacing_ = false;
  double rate_ = 0;         // requests/s while pacing
  double w_max_ = 0;        // the curve's plateau: the accepted rate at the last cut
  double k_ = 0;            // seconds from the cut until the curve is at w_max_
  double growth_ = 0;       // the curve's scale now (config_.growth, less for a stable limit)
  TimePoint origin_{};      // the curve's t = 0 (moved on while sends do not use the pace)
  TimePoint updated_at_{};
  TimePoint measure_from_{};
  TimePoint binding_at_{};  // when sends last used the whole pace  // accepted_since_cut_ counts from here
  bool ramp_ = false;       // growing from a lower bound (see grow())
  double ramp_from_ = 0;
  bool any_sent_ = false;
  TimePoint last_sent_{};
  TimePoint busy_since_{};  // the first send after a gap of a second or more
  double tokens_ = 0;
  TimePoint refilled_at_{};
};

}  // namespace opsmeter::detail
