// Retry-After header values (delta-seconds and the three HTTP-date forms) from any server: no
// overflow (UBSan), and the throttle window the policy makes of them is always between the 1 s
// floor and max_retry_after.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "delivery/policy.hpp"

using namespace opsmeter::detail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  const WallClock::time_point wall_now = WallClock::from_time_t(1764374400);  // 2025-11-29
  const auto parsed = parse_retry_after(value, wall_now);
  if (parsed && parsed->count() < 0) std::abort();
  PolicyConfig config;
  const TimePoint now = TimePoint(std::chrono::hours(24));
  const Decision d = decide(AttemptOutcome{429, TransportError::kNone, parsed}, 1, now, config, 0.5);
  const auto wait = std::chrono::duration_cast<Millis>(d.not_before - now);
  if (d.action != Action::kThrottle || wait < kMinThrottle || wait > config.max_retry_after) std::abort();
  return 0;
}
