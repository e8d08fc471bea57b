// opsmeter/record.hpp: the typed telemetry record for one LLM call.
//
// An `LlmCallRecord` is a plain value: build it on the caller's thread, then hand it to
// `Client::record()` (which moves it into the send queue) or serialize it yourself with
// `to_json()` (opsmeter/serialize.hpp). Every field maps to one field of the Opsmeter ingest
// body; the comments give the JSON name. Unset optional fields take the documented default
// when the record is serialized, so the same record always produces the same bytes.
//
// Thread-safety: a record is an ordinary value type with no shared state.
// Nothing in this header throws, except what std::string and std::vector throw on allocation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "opsmeter/export.hpp"

namespace opsmeter {

// `status`: whether the provider call succeeded. Wire values "success" / "error".
enum class CallStatus : std::uint8_t { kSuccess, kError };

// `dataMode`: which data set the record belongs to. Wire values "real" / "test" / "demo".
enum class DataMode : std::uint8_t { kReal, kTest, kDemo };

// `environment`: where the call ran. Wire values "prod" / "staging" / "dev".
enum class Environment : std::uint8_t { kProd, kStaging, kDev };

// `metadata.tokenSource`: where the token counts came from. Wire values "provider" /
// "estimated".
enum class TokenSource : std::uint8_t { kProvider, kEstimated };

// Wire names. An out-of-range enum value yields "invalid" (validation rejects such records).
OPSMETER_API std::string_view to_string(CallStatus value) noexcept;
OPSMETER_API std::string_view to_string(DataMode value) noexcept;
OPSMETER_API std::string_view to_string(Environment value) noexcept;
OPSMETER_API std::string_view to_string(TokenSource value) noexcept;

// Parse a wire name (exact, lower case). std::nullopt when the text is not a valid value.
OPSMETER_API std::optional<CallStatus> parse_call_status(std::string_view text) noexcept;
OPSMETER_API std::optional<DataMode> parse_data_mode(std::string_view text) noexcept;
OPSMETER_API std::optional<Environment> parse_environment(std::string_view text) noexcept;
OPSMETER_API std::optional<TokenSource> parse_token_source(std::string_view text) noexcept;

// A user metadata value: a string, an integer, a floating-point number or a boolean.
// Non-finite doubles are sent as null.
using MetadataValue = std::variant<std::string, std::int64_t, double, bool>;

// `metadata`: the well-known keys of the official SDKs plus user key/values. Empty strings are
// left out of the JSON. `sdkLanguage` ("cpp") and `sdkVersion` are always added by the SDK, and
// `recordedAt` (RFC 3339 UTC, milliseconds: when record() was called) to a record that is sent
// more than 60 s after its record().
struct Metadata {
  std::string operation;            // `operation`, e.g. "chat.completions"
  std::string tenant_id;            // `tenantId`: your customer or workspace id (no PII)
  std::string endpoint;             // `endpoint`: the provider endpoint or route called
  std::string feature;              // `feature`
  std::string provider_request_id;  // `providerRequestId`: the provider's response id
  std::optional<TokenSource> token_source;  // `tokenSource`; left out when unset
  // W3C trace context of the request that made the call (see opsmeter/context.hpp): `traceId`,
  // 32 lower-case hex digits, and `spanId`, 16; left out when empty.
  std::string trace_id;
  std::string span_id;
  // User key/values, sent after the well-known keys in this order. Keys must be 1-64 bytes,
  // unique, and may not reuse a well-known or SDK key (see opsmeter/validation.hpp).
  std::vector<std::pair<std::string, MetadataValue>> extra;
};

// One LLM call. The JSON field order is the order of the members below.
struct LlmCallRecord {
  std::string external_request_id;  // `externalRequestId`, required; reuse it on retries
  std::string provider;             // `provider`, required; sent as given, never rewritten
  std::string model;                // `model`, required
  std::string prompt_version;       // `promptVersion`; empty is sent as "unknown"
  std::string endpoint_tag;         // `endpointTag`; empty is sent as "unknown"
  std::int64_t input_tokens = 0;    // `inputTokens`, >= 0
  std::int64_t output_tokens = 0;   // `outputTokens`, >= 0
  std::optional<std::int64_t> total_tokens;  // `totalTokens`; unset = input + output
  std::int64_t latency_ms = 0;               // `latencyMs`, >= 0, from a monotonic clock
  CallStatus status = CallStatus::kSuccess;  // `status`
  std::optional<std::string> error_code;     // `errorCode`; null when unset
  std::optional<std::string> user_id;        // `userId`; null when unset. Never PII.
  std::optional<DataMode> data_mode;         // `dataMode`; unset = the client's default (real)
  std::optional<Environment> environment;    // `environment`; unset = the client's default (prod)
  Metadata metadata;                         // `metadata`

  // totalTokens as it will be sent: the explicit value, else input + output (saturating).
  OPSMETER_API std::int64_t effective_total_tokens() const noexcept;
};

}  // namespace opsmeter
