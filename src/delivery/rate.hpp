// The send rate after 429s: a client-side rate limiter that lowers the pace only on evidence
// that the send rate caused the 429s, and learns the pace from recent windows.
//
// What counts as evidence (every 429 is judged; a pure function of the times it is given):
// - Nothing, while fewer than kMinAnswers answers were seen since the last cut: a quiet client
//   with a handful of sends has measured nothing, and its 429 only delays that record.
// - A rate limit ("cut"): the share of 429s among the last answers (at most 64) is above the
//   noise floor: max(kMinShare, 2 * noise + kNoiseMargin). The pace is cut to `decrease` times
//   the rate the server accepted over the last second (at most the pace itself), W_max. It
//   climbs back to W_max in a straight line whose slope is the same for every sender with a
//   small share, max(kAdditiveFloor, W_max * (1 - decrease) / kBackWithin) requests/s per s,
//   then probes above it along a cubic curve, W_max + growth * t^3. A cut takes more from a
//   larger sender and the climb gives each the same, so processes sharing one limit converge
//   to equal shares (additive increase, multiplicative decrease); a curve that returns each
//   sender to its own W_max (CUBIC's concave half) keeps the shares they had.
// - Noise: after each cut, the share of 429s over the next kTrialAnswers answers, sent at the
//   lower pace, becomes the noise estimate. 429s that do not become rarer when the pace falls
//   (overload shedding, a concurrency cap, a noisy neighbour) then no longer cut it; 429s from
//   a real limit stop once the pace is below it, and the estimate falls back to ~0. The
//   estimate halves every kNoiseHalfLife: in a fleet sharing one limit, the 429s right after
//   one process's cut are the others' and fall once they cut too, and an estimate kept forever
//   would exempt that process from every later cut while it grew.
// - A hold: at least half of the last 16 answers were 429s. The server refuses most of what is
//   sent; the whole sender waits for that 429's Retry-After (the gate's window), and cuts once.
// Rates are measured over the last second, not since the first send. Growth only runs while
// sends use the pace (an idle client does not drift to an unlimited rate), and pacing ends on
// evidence: sends have not used the whole pace for kCalm (the limit, if any, is above what the
// client wants to send).
// Paced sends are spaced at random, not evenly: each takes between 1 - kSpread and 1 + 7 *
// kSpread tokens (mean 1; the exponential draw of random arrivals, mixed with an even gap). A
// server bucket that is nearly empty refuses a request that arrives soon after another. An
// evenly spaced sender never arrives soon after itself, so a larger sender would see a smaller
// share of 429s than a small one, be cut less, and grow its share: the drift that made one of
// eight processes drain at 16 s and another at 52 s. Random gaps give each request the same
// chance whoever sent it.
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
  std::uint64_t seed = 0;  // the paced sends' random gaps (each client its own)
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
  static constexpr double kAdditiveFloor = 7.0;   // the climb's least slope, requests/s per s
  static constexpr double kBackWithin = 3.0;      // s: the climb back, for a large W_max
  static constexpr double kNoiseHalfLife = 10.0;  // s
  static constexpr double kSpread = 0.5;          // the random share of each paced gap

  explicit SendRate(RateConfig config = {}) noexcept : config_(config), seed_(config.seed) {}

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
  double noise() const noexcept { return noise_; }  // the share of 429s last measured as noise
  double noise(TimePoint now) const noexcept;       // ... as it counts at `now` (it fades)
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
  void outcome(TimePoint now, bool throttled) noexcept;
  int throttled_among(int last) const noexcept;  // 429s among the last `last` answers
  void cut(TimePoint now, TimePoint origin, std::size_t in_flight) noexcept;
  void grow(TimePoint now) noexcept;
  void refill(TimePoint now) noexcept;
  double depth() const noexcept;  // the token bucket's depth: 50 ms of the rate
  double full() const noexcept;   // ... or the next send's cost, if more
  double additive_slope() const noexcept;
  double draw_cost() noexcept;   // the next paced send's cost in tokens
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
  TimePoint noise_at_{};

  bool pacing_ = false;
  double rate_ = 0;         // requests/s while pacing
  double w_max_ = 0;        // the plateau: the accepted rate at the last cut
  double cut_to_ = 0;       // the pace the last cut set
  double growth_ = 0;       // the cubic probe's scale now (config_.growth, less for a stable limit)
  TimePoint origin_{};      // the climb's t = 0 (moved on while sends do not use the pace)
  TimePoint updated_at_{};
  TimePoint measure_from_{};  // accepted_since_cut_ counts from here
  TimePoint binding_at_{};  // when sends last used the whole pace
  bool ramp_ = false;       // growing from a lower bound (see grow())
  double ramp_from_ = 0;
  bool any_sent_ = false;
  TimePoint last_sent_{};
  TimePoint busy_since_{};  // the first send after a gap of a second or more
  double tokens_ = 0;
  std::uint64_t seed_ = 0;  // SplitMix64 state for the gaps
  double cost_ = 1.0;       // tokens the next paced send takes
  TimePoint refilled_at_{};
};

}  // namespace opsmeter::detail
