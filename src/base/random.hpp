// Seeds and mixing for the SDK's non-cryptographic randomness (jitter, pacing gaps, file tags).
#pragma once

#include <cstdint>

namespace opsmeter::detail {

// SplitMix64's finaliser: a bijection on 64-bit values that spreads every input bit.
constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// 64 bits from the kernel (getrandom, never blocking); when it does not answer, the time, the
// pid and a process-wide counter mixed, so two calls still differ. Never throws (unlike
// std::random_device, whose constructor may).
std::uint64_t random_seed() noexcept;

}  // namespace opsmeter::detail
