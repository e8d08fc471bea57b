// The clocks the engine reads. Policy code takes times as arguments so tests can pass any.
#pragma once

#include <chrono>

namespace opsmeter::detail {

using Clock = std::chrono::steady_clock;  // monotonic: deadlines, windows, latency
using TimePoint = Clock::time_point;
using WallClock = std::chrono::system_clock;  // only to read HTTP-date Retry-After values
using Millis = std::chrono::milliseconds;

}  // namespace opsmeter::detail
