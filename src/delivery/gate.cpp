// The delivery gate's windows and its published snapshot.
#include "delivery/gate.hpp"

#include <algorithm>
#include <bitset>

namespace opsmeter::detail {

void describe(const GateStatus& gate, ClientStatus& st) {
  st.telemetry_paused = gate.paused;
  st.pause_reason = gate.pause_reason;
  st.paused_until = gate.paused_until;
  st.throttled_until = gate.throttled_until;
  st.throttled = gate.throttled_until > Clock::now();
  st.unreachable = gate.unreachable;
  st.unreachable_reason = gate.unreachable_reason;
  st.unreachable_since = gate.unreachable_since;
  st.next_probe_at = gate.next_probe_at;
  st.send_rate_limit = gate.send_rate_limit;
}

DeliveryGate::DeliveryGate(std::size_t max_in_flight, std::atomic<std::int64_t>& paused_until_ns,
                           std::atomic<bool>& unreachable, ProbeBackoff probe_backoff, RateConfig rate)
    : base_in_flight_(max_in_flight),
      max_in_flight_(max_in_flight),
      window_(max_in_flight),
      paused_until_ns_(paused_until_ns),
      unreachable_flag_(unreachable),
      probe_backoff_(probe_backoff),
      rate_(rate),
      published_(std::make_shared<const GateStatus>()) {}

void DeliveryGate::advance(TimePoint now) noexcept {
  if (mode_ == Mode::kPaused && now >= paused_until_) mode_ = Mode::kProbing;
}

std::size_t DeliveryGate::send_limit() const noexcept {
  return mode_ == Mode::kProbing || unreachable_ ? 1 : std::min(max_in_flight_, window_);
}

bool DeliveryGate::may_send(TimePoint now, std::size_t in_flight) noexcept {
  if (unreachable_ && now < next_probe_at_) return false;
  return mode_ != Mode::kPaused && now >= held_until_ && in_flight < send_limit() && rate_.may_send(now);
}

void DeliveryGate::sent(TimePoint now) noexcept { rate_.sent(now); }

std::optional<double> DeliveryGate::rate_answer(TimePoint now, bool accepted) {
  accepted_since_429_ = accepted_since_429_ || accepted;
  if (accepted && window_ < max_in_flight_) ++window_;
  const bool was = rate_.pacing();
  const double limit = rate_.limit();
  const bool ended = rate_.answered(now, accepted);
  if (was) publish();  // the limit moved
  return ended ? std::optional<double>(limit) : std::nullopt;
}

TimePoint DeliveryGate::opens_at(TimePoint now) noexcept {
  TimePoint at = std::max(held_until_, rate_.next_send(std::max(now, held_until_)));
  return unreachable_ ? std::max(at, next_probe_at_) : at;
}

TimePoint DeliveryGate::next_change(TimePoint now, TimePoint limit) noexcept {
  TimePoint next = limit;
  if (held_until_ > now) next = std::min(next, held_until_);
  if (throttling_ && throttled_until_ > now) next = std::min(next, throttled_until_);
  if (rate_.pacing() && !rate_.may_send(now)) {
    next = std::min(next, std::max(held_until_, rate_.next_send(now)));
  }
  if (mode_ == Mode::kPaused) next = std::min(next, paused_until_);
  if (unreachable_ && next_probe_at_ > now) next = std::min(next, next_probe_at_);
  return next;
}

std::optional<std::string> DeliveryGate::connection_failed(TimePoint now, TimePoint sent_at, double jitter,
                                                           const std::string& reason) {
  const bool started = !unreachable_;
  if (started) {
    unreachable_ = true;
    unreachable_since_ = now;
    probe_failures_ = 0;
  } else if (sent_at < unreachable_since_ || now < next_probe_at_) {
    return std::nullopt;  // a request from before the outage, or before the probe was due
  }
  ++probe_failures_;
  Millis wait = probe_backoff_.max;
  if (probe_failures_ <= 30) {  // min * 2^30 is past any sane max
    wait = std::min(probe_backoff_.max, probe_backoff_.min * (std::int64_t{1} << (probe_failures_ - 1)));
  }
  const auto drawn = static_cast<Millis::rep>(static_cast<double>(wait.count()) / 2 * jitter);
  next_probe_at_ = now + wait / 2 + Millis(drawn);
  unreachable_reason_ = reason;
  publish();
  return started ? std::optional<std::string>(unreachable_reason_) : std::nullopt;
}

std::optional<std::string> DeliveryGate::request_failed(TimePoint now, TimePoint sent_at, double jitter,
                                                        const std::string& reason) {
  if (unreachable_) return connection_failed(now, sent_at, jitter, reason);
  recent_failures_ = (recent_failures_ << 1) | 1u;
  const std::uint32_t window = (1u << kFailureWindow) - 1;
  if (std::bitset<kFailureWindow>(recent_failures_ & window).count() < kFailuresForOutage) return std::nullopt;
  recent_failures_ = 0;
  return connection_failed(now, sent_at, jitter,
                           reason + " (" + std::to_string(kFailuresForOutage) + " of the last " +
                               std::to_string(kFailureWindow) + " requests got no answer)");
}

std::optional<Millis> DeliveryGate::answered(TimePoint now, TimePoint sent_at) {
  recent_failures_ <<= 1;
  if (!unreachable_ || sent_at < unreachable_since_) return std::nullopt;
  unreachable_ = false;
  unreachable_reason_.clear();
  publish();
  return std::chrono::duration_cast<Millis>(now - unreachable_since_);
}

ThrottleEvents DeliveryGate::throttle(TimePoint until, TimePoint now, std::size_t in_flight) {
  ThrottleEvents events;
  if (!throttling_ || throttled_until_ <= now) {
    events.throttling_started = !throttling_;
    if (!throttling_) throttling_since_ = now;
    throttling_ = true;
  }
  throttled_until_ = std::max(throttled_until_, until);
  accepted_since_429_ = false;
  window_ = base_in_flight_;
  const RateVerdict verdict = rate_.throttled(now, until, in_flight);
  events.cut = verdict.cut;
  events.pacing_started = verdict.pacing_started;
  if (verdict.hold && until > held_until_) {
    events.hold_started = held_until_ <= now;
    held_until_ = until;
  }
  publish();
  return events;
}

std::optional<Millis> DeliveryGate::throttling_ended(TimePoint now) noexcept {
  // Over once every 429's window has ended and the server accepted a request since the last
  // 429 (a hold ends every window at once, and the first sends after it may be refused again),
  // or a minute after the last window with nothing sent.
  if (!throttling_ || now < throttled_until_) return std::nullopt;
  if (!accepted_since_429_ && now < throttled_until_ + kThrottlingQuiet) return std::nullopt;
  throttling_ = false;
  publish();
  return std::chrono::duration_cast<Millis>(now - throttling_since_);
}

bool DeliveryGate::pause(TimePoint until, const std::string& reason) {
  const bool was_paused = mode_ != Mode::kNormal;
  mode_ = Mode::kPaused;
  paused_until_ = until;
  pause_reason_ = reason;
  paused_until_ns_.store(to_ns(until), std::memory_order_release);
  publish();
  return was_paused;
}

std::optional<std::string> DeliveryGate::delivered() {
  if (mode_ != Mode::kProbing) return std::nullopt;
  mode_ = Mode::kNormal;
  std::string ended = std::move(pause_reason_);
  pause_reason_.clear();
  publish();
  return ended;
}

std::shared_ptr<const GateStatus> DeliveryGate::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return published_;
}

void DeliveryGate::publish() {
  GateStatus next;
  next.paused = mode_ != Mode::kNormal;
  next.pause_reason = pause_reason_;
  next.paused_until = paused_until_;
  next.throttled_until = throttling_ ? throttled_until_ : TimePoint{};
  next.held_until = held_until_;
  next.unreachable = unreachable_;
  next.unreachable_reason = unreachable_reason_;
  next.unreachable_since = unreachable_since_;
  next.next_probe_at = next_probe_at_;
  next.send_rate_limit = rate_.limit();
  auto snapshot = std::make_shared<const GateStatus>(std::move(next));
  unreachable_flag_.store(unreachable_, std::memory_order_seq_cst);
  std::lock_guard<std::mutex> lock(mu_);
  published_ = std::move(snapshot);
}

}  // namespace opsmeter::detail
