// Request ids: a per-thread CSPRNG-seeded generator and the deterministic sha256 helper.
#include "opsmeter/ids.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sys/random.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <mutex>

#include "base/random.hpp"
#include "base/text.hpp"

namespace opsmeter {
namespace {

using detail::mix64;  // a bijection, so distinct counters give distinct ids

// Bumped in the child after fork() so that threads reseed instead of repeating the parent's ids.
std::atomic<std::uint64_t> g_fork_generation{0};

void on_fork_child() { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }

bool fill_random(void* buffer, std::size_t size) noexcept {
  auto* bytes = static_cast<unsigned char*>(buffer);
  std::size_t filled = 0;
  while (filled < size) {
    const ssize_t got = getrandom(bytes + filled, size - filled, 0);
    if (got <= 0) break;
    filled += static_cast<std::size_t>(got);
  }
  if (filled == size) return true;
  return RAND_bytes(bytes, static_cast<int>(size)) == 1;
}

struct ThreadIdState {
  std::uint64_t prefix = 0;   // random per thread: separates threads and processes
  std::uint64_t key = 0;      // random per thread: hides the counter
  std::uint64_t counter = 0;  // never repeats within the thread
  std::uint64_t generation = ~0ULL;

  void reseed() noexcept {
    std::uint64_t seed[2] = {0, 0};
    if (!fill_random(seed, sizeof seed)) {
      // No entropy source answered; fall back to addresses and time, still unique per thread.
      const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
      seed[0] = reinterpret_cast<std::uintptr_t>(this) ^ static_cast<std::uint64_t>(now);
      seed[1] = mix64(seed[0] + 0x9e3779b97f4a7c15ULL);
    }
    prefix = seed[0];
    key = seed[1];
    counter = 0;
  }
};

void append_hex64(char* out, std::uint64_t value) noexcept {
  for (int i = 15; i >= 0; --i) {
    out[i] = detail::kHexDigits[value & 0xF];
    value >>= 4;
  }
}

}  // namespace

std::string new_request_id() noexcept {
  static std::once_flag fork_hook;
  std::call_once(fork_hook, [] { pthread_atfork(nullptr, nullptr, on_fork_child); });
  thread_local ThreadIdState state;
  const std::uint64_t generation = g_fork_generation.load(std::memory_order_relaxed);
  if (state.generation != generation) {
    state.reseed();
    state.generation = generation;
  }
  const std::uint64_t n = state.counter++;
  char text[4 + 32] = {'e', 'x', 't', '_'};
  append_hex64(text + 4, state.prefix);
  append_hex64(text + 20, mix64(n ^ state.key));
  try {
    return std::string(text, sizeof text);
  } catch (...) {
    return std::string();
  }
}

namespace {

// A digest as lower-case hex; "" if memory runs out.
std::string hex_of(const unsigned char* digest, unsigned int length) noexcept {
  try {
    std::string hex(static_cast<std::size_t>(length) * 2, '0');
    for (unsigned int i = 0; i < length; ++i) {
      hex[2 * i] = detail::kHexDigits[digest[i] >> 4];
      hex[2 * i + 1] = detail::kHexDigits[digest[i] & 0xF];
    }
    return hex;
  } catch (...) {
    return std::string();
  }
}

}  // namespace

std::string sha256_hex(std::string_view data) noexcept {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return std::string();
  }
  return hex_of(digest, length);
}

std::string deterministic_request_id(std::string_view key) noexcept {
  try {
    std::string normalized(detail::trim(key));
    for (char& c : normalized) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    const std::string hex = sha256_hex(normalized);
    if (hex.empty()) return std::string();
    return "ext_" + hex.substr(0, 24);
  } catch (...) {
    return std::string();
  }
}

std::string hash_user_id(std::string_view raw, std::string_view salt) noexcept {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // HMAC with an empty key is still HMAC; OpenSSL wants a non-null pointer for it.
  static const unsigned char kNoKey = 0;
  const void* key = salt.empty() ? static_cast<const void*>(&kNoKey) : salt.data();
  if (HMAC(EVP_sha256(), key, static_cast<int>(salt.size()),
           reinterpret_cast<const unsigned char*>(raw.data()), raw.size(), digest, &length) == nullptr) {
    return std::string();
  }
  return hex_of(digest, length);
}

bool looks_like_pii(std::string_view id) noexcept {
  const std::size_t at = id.find('@');
  if (at != std::string_view::npos && at > 0) {
    const std::string_view domain = id.substr(at + 1);
    const std::size_t dot = domain.find('.');
    if (dot != std::string_view::npos && dot > 0 && dot + 1 < domain.size()) return true;
  }
  std::size_t digits = 0;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (!(c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || (c == '+' && i == 0))) {
      return false;
    }
  }
  return digits >= 7 && digits <= 15;
}

}  // namespace opsmeter
