// The adaptive send rate: acceptance measured while the gate is open, multiplicative cuts,
// cubic growth, token pacing.
#include "delivery/rate.hpp"

#include <algorithm>
#include <cmath>

namespace opsmeter::detail {
namespace {

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Rates measured over less than this are too noisy to use as they are.
constexpr double kMinSpan = 0.01;

}  // namespace

double SendRate::accepted_rate(TimePoint now) const noexcept {
  const double span = std::max(kMinSpan, seconds(now - resumed_at_));
  return static_cast<double>(accepted_since_resume_) / span;
}

void SendRate::refill(TimePoint now) noexcept {
  if (now > refilled_at_) {
    const double depth = std::max(1.0, rate_ * 0.05);  // 50 ms of the rate
    tokens_ = std::min(depth, tokens_ + seconds(now - refilled_at_) * rate_);
    refilled_at_ = now;
  }
}

void SendRate::sent(TimePoint now) noexcept {
  if (!started_) {
    started_ = true;
    first_sent_at_ = now;
    resumed_at_ = now;
  }
  if (!pacing_) {
    ++sent_before_pacing_;
    return;
  }
  refill(now);
  tokens_ -= 1;
}

bool SendRate::answered(TimePoint now, bool accepted) noexcept {
  if (accepted && now >= resumed_at_) ++accepted_since_resume_;
  if (!pacing_ || now < resumed_at_) return false;
  const double t = seconds(now - resumed_at_);
  refill(now);  // the tokens so far, at the old rate
  rate_ = std::max(config_.min_rate, config_.growth * std::pow(t - k_, 3) + w_max_);
  if (rate_ > unthrottled_) {
    pacing_ = false;
    return true;
  }
  return false;
}

bool SendRate::throttled(TimePoint now, TimePoint resume) noexcept {
  const bool started = !pacing_;
  double measured = accepted_rate(now);
  if (started) {
    unthrottled_ = static_cast<double>(sent_before_pacing_) / std::max(kMinSpan, seconds(now - first_sent_at_));
  } else {
    measured = std::min(measured, rate_);  // a refilled server bucket inflates short spans
  }
  w_max_ = std::max(config_.min_rate, measured);
  k_ = std::cbrt(w_max_ * (1 - config_.decrease) / config_.growth);
  rate_ = std::max(config_.min_rate, w_max_ * config_.decrease);
  pacing_ = true;
  resumed_at_ = std::max(now, resume);
  accepted_since_resume_ = 0;
  tokens_ = std::min(tokens_, 1.0);
  refilled_at_ = now;
  return started;
}

bool SendRate::may_send(TimePoint now) noexcept {
  if (!pacing_) return true;
  refill(now);
  return tokens_ >= 1;
}

TimePoint SendRate::next_send(TimePoint now) noexcept {
  if (may_send(now)) return now;
  const double wait = (1 - tokens_) / rate_;
  return now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait)) +
         Clock::duration(1);
}

}  // namespace opsmeter::detail
