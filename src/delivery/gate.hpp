// The delivery gate: the one owner of the windows in which the worker must not send, a 429's
// throttle window and a 402's pause (then a single probe). The worker asks it before each send
// and tells it what each answer meant; other threads read it through one immutable snapshot.
// All members except status() are called from the worker thread only.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "base/clock.hpp"

namespace opsmeter::detail {

// What status() shows of the gate; replaced as a whole on every change.
struct GateStatus {
  bool paused = false;
  std::string pause_reason;
  TimePoint paused_until{};
  TimePoint throttled_until{};
};

class DeliveryGate {
 public:
  // `paused_until_ns` is the flag record() reads to drop records during a pause without
  // queueing them; the gate writes it when a pause starts.
  DeliveryGate(std::size_t max_in_flight, std::atomic<std::int64_t>& paused_until_ns);

  // Once the pause window has ended, one probe request decides whether the pause is over.
  void advance(TimePoint now) noexcept;

  bool paused() const noexcept { return mode_ == Mode::kPaused; }
  TimePoint throttled_until() const noexcept { return throttled_until_; }
  // How many requests may be in flight: one while probing, else max_in_flight.
  std::size_t send_limit() const noexcept;
  // Not paused, not throttled at `now`, and fewer than send_limit() requests in flight.
  bool may_send(TimePoint now, std::size_t in_flight) const noexcept;
  // The end of the current pause or throttle window if it comes before `limit`, else `limit`.
  TimePoint next_change(TimePoint now, TimePoint limit) const noexcept;

  // A 429 asks for no request before `until`. True when this starts a window (none was open
  // at `now`); a later `until` extends the window, an earlier one changes nothing.
  bool throttle(TimePoint until, TimePoint now);
  // A 402: telemetry pauses until `until`. True when it was already paused (a failed probe).
  bool pause(TimePoint until, const std::string& reason);
  // An answer delivered a record. True when that ends a pause (the probe succeeded);
  // `ended_reason` then holds the pause's reason.
  bool delivered(std::string& ended_reason);

  // Any thread.
  std::shared_ptr<const GateStatus> status() const;

 private:
  enum class Mode { kNormal, kPaused, kProbing };

  void publish();

  const std::size_t max_in_flight_;
  std::atomic<std::int64_t>& paused_until_ns_;
  Mode mode_ = Mode::kNormal;
  TimePoint paused_until_{};
  TimePoint throttled_until_{};
  std::string pause_reason_;

  mutable std::mutex mu_;  // guards published_
  std::shared_ptr<const GateStatus> published_;
};

}  // namespace opsmeter::detail
