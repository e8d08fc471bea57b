// The delivery policy: what to do with one HTTP attempt's outcome. A pure function of
// (outcome, now, attempt count, configuration, a jitter draw), tested as a table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.hpp"
#include "transport/transport.hpp"

namespace opsmeter::detail {

struct AttemptOutcome {
  int http_status = 0;  // 0 when there was no HTTP response
  TransportError error = TransportError::kNone;
  std::optional<Millis> retry_after;  // parsed Retry-After of a 429, if present and valid
  // The connection failed, not the request (HttpResult::connection_failed), and whether this
  // request had reached the wire before it did.
  bool connection_failed = false;
  bool reached_wire = true;
  // The ingest API is unreachable (the gate's judgement, this failure included).
  bool unreachable = false;
};

// The shortest throttle window, whatever Retry-After says.
inline constexpr Millis kMinThrottle{1000};

struct PolicyConfig {
  int max_retries = 2;
  Millis retry_base_delay{200};
  Millis retry_max_delay{5000};
  Millis default_retry_after{1000};
  Millis max_retry_after{60000};
  Millis pause_window{600000};
};

enum class Action : std::uint8_t {
  kDelivered,  // 2xx
  kRetry,      // transient: resend at not_before (same id)
  kThrottle,   // 429: the whole sender waits until not_before, then resends (same id)
  kHold,       // the connection failed, or the API is unreachable and the request got no
               // answer: the record waits while the sender probes (gate.hpp). Only a timeout
               // of a request that reached the wire is an attempt (the server may have read it)
  kPause,      // 402: drop this record, pause telemetry until not_before
  kReject,     // permanent 4xx or unexpected status: drop
  kGiveUp,     // transient, but retries are exhausted: drop
  kAbandon,    // aborted by shutdown: drop
};
std::string_view to_string(Action action) noexcept;

struct Decision {
  Action action = Action::kReject;
  TimePoint not_before{};  // for kRetry, kThrottle, kPause (kHold: the gate decides)
};

// `attempts` counts the requests already sent for this record, including this one.
// `jitter` is a uniform draw from [0, 1) for the full-jitter backoff.
Decision decide(const AttemptOutcome& outcome, int attempts, TimePoint now,
                const PolicyConfig& config, double jitter) noexcept;

// Parses a Retry-After value: delta-seconds ("120") or an HTTP-date (IMF-fixdate, RFC 850 or
// asctime form), relative to `wall_now`. A date in the past gives 0. nullopt when malformed.
std::optional<Millis> parse_retry_after(std::string_view value, WallClock::time_point wall_now) noexcept;

}  // namespace opsmeter::detail
