// opsmeter/validation.hpp: checking a record before it is queued.
//
// `validate()` is what `Client::record()` runs on the caller's thread. It allocates nothing,
// never throws, and answers with a typed `ValidationError` whose `code` is `kOk` for a valid
// record. The field caps below are bytes of UTF-8; they keep one bad caller from filling the
// queue with megabyte strings and keep every record under the server's payload limit.
//
// Caps (bytes): externalRequestId 128, provider 64, model 128, promptVersion 128,
// endpointTag 128, errorCode 128, userId 256, each well-known metadata string 256,
// metadata key 64, metadata string value 1024, at most 32 user metadata entries.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "opsmeter/export.hpp"
#include "opsmeter/record.hpp"

namespace opsmeter {

namespace limits {
inline constexpr std::size_t kMaxIdBytes = 128;
inline constexpr std::size_t kMaxProviderBytes = 64;
inline constexpr std::size_t kMaxModelBytes = 128;
inline constexpr std::size_t kMaxPromptVersionBytes = 128;
inline constexpr std::size_t kMaxEndpointTagBytes = 128;
inline constexpr std::size_t kMaxErrorCodeBytes = 128;
inline constexpr std::size_t kMaxUserIdBytes = 256;
inline constexpr std::size_t kMaxMetadataStringBytes = 256;
inline constexpr std::size_t kMaxMetadataKeyBytes = 64;
inline constexpr std::size_t kMaxMetadataValueBytes = 1024;
inline constexpr std::size_t kMaxMetadataEntries = 32;
}  // namespace limits

enum class ValidationCode {
  kOk = 0,
  kMissingField,        // a required string is empty (externalRequestId, provider, model)
  kNegativeValue,       // a token count or the latency is below zero
  kTokenOverflow,       // input + output does not fit in int64 and no total was given
  kInvalidEnum,         // status, dataMode, environment or tokenSource is out of range
  kFieldTooLong,        // a string is longer than its cap
  kInvalidMetadataKey,  // empty, too long, not valid UTF-8, duplicated, or a reserved key
  kTooManyMetadataEntries,
  kInvalidTraceId,      // traceId is not 32, or spanId not 16, lower-case hex digits (or is all zero)
};

// The stable lower-case name of a code, e.g. "field_too_long".
OPSMETER_API std::string_view to_string(ValidationCode code) noexcept;

// The outcome of validation. `field` is the JSON name of the offending field ("" when valid);
// it points at a static string and stays valid forever. For a metadata entry, `key()` names
// the entry's key (a copy, cut to 64 bytes; empty otherwise).
struct ValidationError {
  ValidationCode code = ValidationCode::kOk;
  std::string_view field;
  char metadata_key[65] = {};  // NUL-terminated

  bool ok() const noexcept { return code == ValidationCode::kOk; }
  explicit operator bool() const noexcept { return !ok(); }  // true when there is an error
  std::string_view key() const noexcept { return metadata_key; }
  // "field_too_long: model", or "invalid_metadata_key: metadata (key \"tokenSource\")".
  // Allocates; meant for logs.
  OPSMETER_API std::string message() const;
};

// Checks required fields, ranges, enum values, caps and metadata keys. Allocation-free.
OPSMETER_API ValidationError validate(const LlmCallRecord& record) noexcept;

}  // namespace opsmeter
