// opsmeter/ids.hpp: externalRequestId generation.
//
// Generate one id per LLM call, before the first attempt, and reuse it for every retry of that
// call: the server deduplicates on it, so a resend is safe.
//
// - `new_request_id()` is random: "ext_" + 32 lower-case hex digits. Each thread draws a
//   128-bit seed from the operating system's CSPRNG once (and again after fork) and then
//   derives ids without system calls; ids never repeat within a thread and collide across
//   threads or processes only with probability ~2^-64 per pair.
// - `deterministic_request_id(key)` is the official helper: "ext_" + the first 24 hex digits
//   of sha256(lowercase(trim(key))), for calls that already have a business key
//   (`order:1001` -> `ext_e61c8f1c9754b087f4d42809`).
//
// Thread-safety: all functions may be called from any thread. None throws; on allocation
// failure they return an empty string.
#pragma once

#include <string>
#include <string_view>

#include "opsmeter/export.hpp"

namespace opsmeter {

OPSMETER_API std::string new_request_id() noexcept;

// Trims ASCII white space and lower-cases ASCII letters before hashing.
OPSMETER_API std::string deterministic_request_id(std::string_view key) noexcept;

// Lower-case hex sha256 of `data` (64 digits), via OpenSSL's libcrypto. "" on failure.
OPSMETER_API std::string sha256_hex(std::string_view data) noexcept;

}  // namespace opsmeter
