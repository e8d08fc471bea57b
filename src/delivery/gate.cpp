// The delivery gate's windows and its published snapshot.
#include "delivery/gate.hpp"

#include <algorithm>

namespace opsmeter::detail {

DeliveryGate::DeliveryGate(std::size_t max_in_flight, std::atomic<std::int64_t>& paused_until_ns)
    : max_in_flight_(max_in_flight),
      paused_until_ns_(paused_until_ns),
      published_(std::make_shared<const GateStatus>()) {}

void DeliveryGate::advance(TimePoint now) noexcept {
  if (mode_ == Mode::kPaused && now >= paused_until_) mode_ = Mode::kProbing;
}

std::size_t DeliveryGate::send_limit() const noexcept {
  return mode_ == Mode::kProbing ? 1 : max_in_flight_;
}

bool DeliveryGate::may_send(TimePoint now, std::size_t in_flight) const noexcept {
  return mode_ != Mode::kPaused && now >= throttled_until_ && in_flight < send_limit();
}

TimePoint DeliveryGate::next_change(TimePoint now, TimePoint limit) const noexcept {
  TimePoint next = limit;
  if (throttled_until_ > now) next = std::min(next, throttled_until_);
  if (mode_ == Mode::kPaused) next = std::min(next, paused_until_);
  return next;
}

bool DeliveryGate::throttle(TimePoint until, TimePoint now) {
  if (until <= throttled_until_) return false;
  const bool started = throttled_until_ <= now;
  throttled_until_ = until;
  publish();
  return started;
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

bool DeliveryGate::delivered(std::string& ended_reason) {
  if (mode_ != Mode::kProbing) return false;
  mode_ = Mode::kNormal;
  ended_reason = std::move(pause_reason_);
  pause_reason_.clear();
  publish();
  return true;
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
  next.throttled_until = throttled_until_;
  auto snapshot = std::make_shared<const GateStatus>(std::move(next));
  std::lock_guard<std::mutex> lock(mu_);
  published_ = std::move(snapshot);
}

}  // namespace opsmeter::detail
