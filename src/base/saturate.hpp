// Arithmetic on numbers that come from outside (provider bodies, headers): it saturates
// instead of overflowing.
#pragma once

#include <cstdint>
#include <limits>

namespace opsmeter::detail {

// a + b, or the int64 limit in the direction of the overflow.
constexpr std::int64_t add_saturated(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t sum = 0;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min();
}

}  // namespace opsmeter::detail
