// The send rate after 429s: a client-side rate limiter that learns from throttling, in the
// spirit of the AWS SDKs' "adaptive" retry mode (a CUBIC curve over a token bucket).
//
// Unlimited until the first 429. Each new throttle window cuts the rate to `decrease` times the
// rate the server accepted while the gate was last open (2xx answers since the previous
// window ended, over that time; while pacing, at most the pace itself). Sends are then paced by
// a token bucket holding 50 ms of the rate, and the rate grows from the end of the window along
// W(t) = growth * (t - K)^3 + W_max, K = cbrt(W_max * (1 - decrease) / growth): quickly at
// first, flat around W_max, then faster again past it, probing for more. Once it is above the
// rate sent before the first 429, pacing stops. A pure function of the times it is given.
#pragma once

#include <cstdint>

#include "base/clock.hpp"

namespace opsmeter::detail {

struct RateConfig {
  double decrease = 0.8;  // multiplicative decrease on a 429 (AWS uses 0.7; see the README)
  double growth = 0.4;    // scale of the cubic growth, requests/s per s^3
  double min_rate = 1.0;  // requests/s; the limit never goes below
};

class SendRate {
 public:
  explicit SendRate(RateConfig config = {}) noexcept : config_(config) {}

  // A request starts at `now` (takes a token while pacing).
  void sent(TimePoint now) noexcept;
  // An answer that is not a 429 at `now`; `accepted`: a 2xx. True when this ends pacing.
  bool answered(TimePoint now, bool accepted) noexcept;
  // The first 429 of a throttle window, at `now`; sending resumes at `resume`. True when this
  // starts pacing.
  bool throttled(TimePoint now, TimePoint resume) noexcept;

  bool pacing() const noexcept { return pacing_; }
  double limit() const noexcept { return pacing_ ? rate_ : 0.0; }  // requests/s; 0: none
  // Whether a request may start at `now`, and if not, when the next one may.
  bool may_send(TimePoint now) noexcept;
  TimePoint next_send(TimePoint now) noexcept;
  // What the server accepted (2xx per second) since sending last resumed, as of `now`.
  double accepted_rate(TimePoint now) const noexcept;

 private:
  void refill(TimePoint now) noexcept;

  const RateConfig config_;
  bool pacing_ = false;
  double rate_ = 0;         // requests/s while pacing
  double w_max_ = 0;        // the curve's plateau: the accepted rate at the last cut
  double k_ = 0;            // seconds from the resume until the curve is at w_max_
  double unthrottled_ = 0;  // the rate sent before the first 429
  TimePoint resumed_at_{};  // when sending (last) resumed; the curve's t = 0
  bool started_ = false;    // a request was sent since construction
  TimePoint first_sent_at_{};
  std::uint64_t sent_before_pacing_ = 0;
  std::uint64_t accepted_since_resume_ = 0;
  double tokens_ = 0;
  TimePoint refilled_at_{};
};

}  // namespace opsmeter::detail
