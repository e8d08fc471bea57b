// The clocks the engine reads. Policy code takes times as arguments so tests can pass any.
#pragma once

#include <time.h>

#include <chrono>
#include <cstdint>

namespace opsmeter::detail {

using Clock = std::chrono::steady_clock;  // monotonic: deadlines, windows, latency
using TimePoint = Clock::time_point;
using WallClock = std::chrono::system_clock;  // only to read HTTP-date Retry-After values
using Millis = std::chrono::milliseconds;
using Micros = std::chrono::microseconds;

// Both clocks read together, once, at the top of a worker step, and handed down as one value:
// the steady time for every deadline, window and age; the wall time for Retry-After dates and
// the stamps of late and spooled records (docs/architecture.md, "Seams tests use").
struct Now {
  TimePoint steady{};
  WallClock::time_point wall{};
};

// The steady clock at tick resolution (4 ms on a 250 Hz kernel): a plain read of the kernel's
// last tick, cheaper than Clock::now() (docs/benchmarks.md has the figures). record() stamps
// records with it. The stamp serves the max_record_age check, where a record looking up to one
// tick older is harmless, and a first look at the pause window, which the steady clock then
// confirms. libstdc++'s steady_clock reads CLOCK_MONOTONIC, which CLOCK_MONOTONIC_COARSE
// trails by less than a tick, so both give points on one time line.
inline TimePoint coarse_now() noexcept {
#if defined(CLOCK_MONOTONIC_COARSE)
  timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0) {
    return TimePoint(std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(ts.tv_sec) +
                                                                  std::chrono::nanoseconds(ts.tv_nsec)));
  }
#endif
  return Clock::now();
}

// A time point as one integer, for atomics.
inline std::int64_t to_ns(TimePoint t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace opsmeter::detail
