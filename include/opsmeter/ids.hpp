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
// - `hash_user_id(raw, salt)` turns an identifier that may be personal data into a stable keyed
//   hash (HMAC-SHA256), since userId must never carry PII.
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

// A stable user id that cannot be reversed without the salt: HMAC-SHA256 keyed with `salt`, as
// 64 lower-case hex digits. Use the same salt everywhere to keep grouping stable, and keep it
// secret: with no (or a known) salt, anyone with a list of email addresses can find which one
// a hash came from.
OPSMETER_API std::string hash_user_id(std::string_view raw, std::string_view salt) noexcept;

// True for text that looks like an email address (local@domain.tld) or a phone number (7 to
// 15 digits, optionally with a leading +, spaces, dots, dashes and parentheses).
OPSMETER_API bool looks_like_pii(std::string_view user_id) noexcept;

}  // namespace opsmeter
