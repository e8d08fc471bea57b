// The delivery gate: the one owner of the windows in which the worker must not send, a 429's
// throttle window, a 402's pause (then a single probe), and an outage: while the ingest API is
// unreachable (the connection fails: DNS, refused, TLS, connect timeout), records are held and
// one probe request at a time, after an exponential backoff with jitter, tests the connection. The worker asks it before each send
// and tells it what each answer meant; other threads read it through one immutable snapshot.
// All members except status() are called from the worker thread only.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/clock.hpp"
#include "delivery/rate.hpp"
#include "opsmeter/client.hpp"

namespace opsmeter::detail {

// What status() shows of the gate; replaced as a whole on every change.
struct GateStatus {
  bool paused = false;
  std::string pause_reason;
  TimePoint paused_until{};
  TimePoint throttled_until{};  // while throttled: the end of the latest 429's window
  TimePoint held_until{};       // the whole sender waits until then (most answers were 429s)
  bool unreachable = false;
  std::string unreachable_reason;
  TimePoint unreachable_since{};
  TimePoint next_probe_at{};
  double send_rate_limit = 0;  // requests/s the sender paces itself to after 429s; 0: none
};

// What status() says of the gate.
void describe(const GateStatus& gate, ClientStatus& status);

// The wait before each probe of an unreachable ingest API: min * 2^(failures - 1), capped at max,
// half of it fixed and half drawn ("equal jitter"), so that many processes do not probe at once.
struct ProbeBackoff {
  Millis min{1000};
  Millis max{60000};
};

// What one 429 changed.
struct ThrottleEvents {
  bool throttling_started = false;  // no 429's window was open before it
  bool hold_started = false;        // the whole sender now waits (no hold was open)
  bool cut = false;                 // the pace was lowered
  bool pacing_started = false;      // ... and pacing began with it
};

class DeliveryGate {
 public:
  // The gate is the one writer of two flags other threads read: `paused_until_ns`, which
  // record() reads to drop records during a pause without queueing them (written when a pause
  // starts), and `unreachable`, which flush waiters read (written when an outage starts or
  // ends).
  DeliveryGate(std::size_t max_in_flight, std::atomic<std::int64_t>& paused_until_ns,
               std::atomic<bool>& unreachable, ProbeBackoff probe_backoff = {}, RateConfig rate = {});

  // Once the pause window has ended, one probe request decides whether the pause is over.
  void advance(TimePoint now) noexcept;

  // The transport says how many requests it can carry now (more over HTTP/2). Above the
  // constructor's count, the limit opens one request per accepted answer (a burst does not put
  // them all on the wire before the server has said anything) and closes back to that count
  // at each 429.
  void set_max_in_flight(std::size_t n) noexcept { max_in_flight_ = std::max<std::size_t>(1, n); }

  bool paused() const noexcept { return mode_ == Mode::kPaused; }
  bool unreachable() const noexcept { return unreachable_; }
  TimePoint unreachable_since() const noexcept { return unreachable_since_; }
  // The end of the latest 429's window (of any record), and of the whole sender's hold.
  TimePoint throttled_until() const noexcept { return throttled_until_; }
  TimePoint held_until() const noexcept { return held_until_; }
  // How many requests may be in flight: one while probing (after a pause or in an outage), else
  // max_in_flight (over HTTP/2, as far as its window has opened).
  std::size_t send_limit() const noexcept;
  // Not paused, not held after 429s at `now`, not before the next probe of an outage, and fewer than
  // send_limit() requests in flight.
  bool may_send(TimePoint now, std::size_t in_flight) noexcept;
  // The earliest time the gate may open: the end of a hold after 429s, and in an outage the
  // next probe (a pause is left out: it drops what waits).
  TimePoint opens_at(TimePoint now) noexcept;
  // The end of the current pause, hold or throttling if it comes before `limit`, else `limit`.
  TimePoint next_change(TimePoint now, TimePoint limit) noexcept;

  // A 429 at `now` asks for no resend of its record before `until`; `in_flight` requests are
  // still out. The send rate judges what it means (rate.hpp): nothing for the others, a cut of
  // the pace, or a hold of the whole sender until `until` when most answers are 429s.
  ThrottleEvents throttle(TimePoint until, TimePoint now, std::size_t in_flight);
  // The end of throttling as of `now` (every 429's window has ended and a request was accepted
  // since the last 429, or a minute passed with nothing sent): how long it lasted, once;
  // nullopt while it lasts or when it was already reported.
  std::optional<Millis> throttling_ended(TimePoint now) noexcept;
  // A request starts at `now`: it takes one of the send rate's tokens while pacing.
  void sent(TimePoint now) noexcept;
  // A non-429 answer at `now` (`accepted`: a 2xx), for the send rate. When that ends pacing:
  // the pace it ended at.
  std::optional<double> rate_answer(TimePoint now, bool accepted);
  double send_rate_limit() const noexcept { return rate_.limit(); }
  double noise() const noexcept { return rate_.noise(); }
  // A 402: telemetry pauses until `until`. True when it was already paused (a failed probe).
  bool pause(TimePoint until, const std::string& reason);
  // The connection of a request sent at `sent_at` failed at `now` (`jitter` a draw from [0, 1)).
  // When this starts an outage: the outage's reason. In an outage, a failure of a request sent
  // once the probe was due is the probe's: the next wait doubles. Failures of requests sent
  // before the outage began, or before the probe was due, change nothing.
  std::optional<std::string> connection_failed(TimePoint now, TimePoint sent_at, double jitter,
                                               const std::string& reason);
  // A request that was sent got no answer (a timeout or a reset) at `now`. One such failure
  // is the request's (a slow answer), but when most of the last kFailureWindow requests got
  // none (kFailuresForOutage), the API is treated as unreachable, as for a failed connection.
  // When this starts an outage: its reason. In an outage it is a failed probe.
  std::optional<std::string> request_failed(TimePoint now, TimePoint sent_at, double jitter,
                                            const std::string& reason);
  static constexpr int kFailureWindow = 8;
  static constexpr int kFailuresForOutage = 6;
  // An HTTP answer to a request sent at `sent_at` arrived at `now`. When that ends an outage:
  // how long it lasted. Only an answer to a request sent since the outage began (a probe) ends
  // it: an answer that was already on its way when the connections failed (read in the same
  // collection as the reset that started the outage) says nothing about the API now.
  std::optional<Millis> answered(TimePoint now, TimePoint sent_at);

  // An answer delivered a record. When that ends a pause (the probe succeeded): the pause's
  // reason.
  std::optional<std::string> delivered();

  // Any thread.
  std::shared_ptr<const GateStatus> status() const;

 private:
  enum class Mode { kNormal, kPaused, kProbing };

  void publish();

  const std::size_t base_in_flight_;
  std::size_t max_in_flight_;
  std::size_t window_;  // requests in flight allowed now, from base_in_flight_ to max_in_flight_
  std::atomic<std::int64_t>& paused_until_ns_;
  std::atomic<bool>& unreachable_flag_;
  Mode mode_ = Mode::kNormal;
  TimePoint paused_until_{};
  TimePoint throttled_until_{};
  TimePoint held_until_{};
  bool throttling_ = false;
  bool accepted_since_429_ = false;
  static constexpr Millis kThrottlingQuiet{60000};
  TimePoint throttling_since_{};
  std::string pause_reason_;
  const ProbeBackoff probe_backoff_;
  SendRate rate_;
  bool unreachable_ = false;
  std::uint32_t recent_failures_ = 0;  // the last requests, newest in bit 0; 1 = no answer
  int probe_failures_ = 0;
  TimePoint unreachable_since_{};
  TimePoint next_probe_at_{};
  std::string unreachable_reason_;

  mutable std::mutex mu_;  // guards published_
  std::shared_ptr<const GateStatus> published_;
};

}  // namespace opsmeter::detail
