#include "base/random.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <chrono>

namespace opsmeter::detail {

std::uint64_t random_seed() noexcept {
  static std::atomic<std::uint64_t> counter{0};
  std::uint64_t bits = 0;
  if (getrandom(&bits, sizeof bits, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof bits)) return bits;
  return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
         (counter.fetch_add(1) * 0x9e3779b97f4a7c15ULL) ^ static_cast<std::uint64_t>(getpid());
}

}  // namespace opsmeter::detail
