// Record validation: allocation-free checks run on the caller's thread by Client::record().
#include "opsmeter/validation.hpp"

#include <algorithm>
#include <cstring>

#include <array>

#include "base/text.hpp"
#include "record/utf8_json.hpp"

namespace opsmeter {
namespace {

// Metadata keys the SDK writes itself; user entries may not shadow them.
constexpr std::array<std::string_view, 11> kReservedMetadataKeys = {
    "operation",   "tenantId", "endpoint",    "feature",     "providerRequestId", "tokenSource",
    "traceId",     "spanId",   "sdkLanguage", "sdkVersion",  "recordedAt"};

ValidationError error(ValidationCode code, std::string_view field) noexcept {
  ValidationError e;
  e.code = code;
  e.field = field;
  return e;
}

// The error for the metadata entry with key `key`, which it names.
ValidationError entry_error(ValidationCode code, std::string_view key) noexcept {
  ValidationError e = error(code, "metadata");
  const std::size_t n = std::min(key.size(), sizeof e.metadata_key - 1);
  std::memcpy(e.metadata_key, key.data(), n);
  e.metadata_key[n] = '\0';
  return e;
}

bool too_long(std::string_view value, std::size_t cap) noexcept { return value.size() > cap; }

// Keys are compared as given, but sent after invalid UTF-8 is repaired (U+FFFD), which could
// make two different keys equal on the wire; so a key must be valid UTF-8.
bool valid_utf8(std::string_view text) noexcept {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = detail::utf8_sequence_length(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

// The JSON name of the first out-of-range enum field, or "" when all are valid.
std::string_view invalid_enum_field(const LlmCallRecord& r) noexcept {
  const auto bad = [](std::string_view name) { return name == "invalid"; };
  if (bad(to_string(r.status))) return "status";
  if (r.data_mode && bad(to_string(*r.data_mode))) return "dataMode";
  if (r.environment && bad(to_string(*r.environment))) return "environment";
  if (r.metadata.token_source && bad(to_string(*r.metadata.token_source))) return "metadata";
  return {};
}

ValidationError validate_identity(const LlmCallRecord& r) noexcept {
  if (r.external_request_id.empty()) return error(ValidationCode::kMissingField, "externalRequestId");
  if (r.provider.empty()) return error(ValidationCode::kMissingField, "provider");
  if (r.model.empty()) return error(ValidationCode::kMissingField, "model");
  struct Cap {
    std::string_view value;
    std::size_t cap;
    std::string_view field;
  };
  const Cap caps[] = {
      {r.external_request_id, limits::kMaxIdBytes, "externalRequestId"},
      {r.provider, limits::kMaxProviderBytes, "provider"},
      {r.model, limits::kMaxModelBytes, "model"},
      {r.prompt_version, limits::kMaxPromptVersionBytes, "promptVersion"},
      {r.endpoint_tag, limits::kMaxEndpointTagBytes, "endpointTag"},
      {r.error_code ? std::string_view(*r.error_code) : std::string_view(),
       limits::kMaxErrorCodeBytes, "errorCode"},
      {r.user_id ? std::string_view(*r.user_id) : std::string_view(), limits::kMaxUserIdBytes,
       "userId"},
  };
  for (const Cap& c : caps) {
    if (too_long(c.value, c.cap)) return error(ValidationCode::kFieldTooLong, c.field);
  }
  return {};
}

ValidationError validate_numbers(const LlmCallRecord& r) noexcept {
  if (r.input_tokens < 0) return error(ValidationCode::kNegativeValue, "inputTokens");
  if (r.output_tokens < 0) return error(ValidationCode::kNegativeValue, "outputTokens");
  if (r.latency_ms < 0) return error(ValidationCode::kNegativeValue, "latencyMs");
  if (r.total_tokens) {
    if (*r.total_tokens < 0) return error(ValidationCode::kNegativeValue, "totalTokens");
    return {};
  }
  std::int64_t sum = 0;
  if (__builtin_add_overflow(r.input_tokens, r.output_tokens, &sum)) {
    return error(ValidationCode::kTokenOverflow, "totalTokens");
  }
  return {};
}

bool is_reserved(std::string_view key) noexcept {
  for (std::string_view reserved : kReservedMetadataKeys) {
    if (key == reserved) return true;
  }
  return false;
}

ValidationError validate_metadata(const Metadata& m) noexcept {
  const std::string_view known[] = {m.operation, m.tenant_id, m.endpoint, m.feature,
                                    m.provider_request_id};
  for (std::string_view value : known) {
    if (too_long(value, limits::kMaxMetadataStringBytes)) {
      return error(ValidationCode::kFieldTooLong, "metadata");
    }
  }
  if ((!m.trace_id.empty() && !detail::is_trace_hex(m.trace_id, 32)) ||
      (!m.span_id.empty() && !detail::is_trace_hex(m.span_id, 16))) {
    return error(ValidationCode::kInvalidTraceId, "metadata");
  }
  if (m.extra.size() > limits::kMaxMetadataEntries) {
    return error(ValidationCode::kTooManyMetadataEntries, "metadata");
  }
  for (std::size_t i = 0; i < m.extra.size(); ++i) {
    const std::string& key = m.extra[i].first;
    if (key.empty() || too_long(key, limits::kMaxMetadataKeyBytes) || is_reserved(key) || !valid_utf8(key)) {
      return entry_error(ValidationCode::kInvalidMetadataKey, key);
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (m.extra[j].first == key) return entry_error(ValidationCode::kInvalidMetadataKey, key);
    }
    const auto* text = std::get_if<std::string>(&m.extra[i].second);
    if (text && too_long(*text, limits::kMaxMetadataValueBytes)) {
      return entry_error(ValidationCode::kFieldTooLong, key);
    }
  }
  return {};
}

}  // namespace

std::string_view to_string(ValidationCode code) noexcept {
  switch (code) {
    case ValidationCode::kOk: return "ok";
    case ValidationCode::kMissingField: return "missing_field";
    case ValidationCode::kNegativeValue: return "negative_value";
    case ValidationCode::kTokenOverflow: return "token_overflow";
    case ValidationCode::kInvalidEnum: return "invalid_enum";
    case ValidationCode::kFieldTooLong: return "field_too_long";
    case ValidationCode::kInvalidMetadataKey: return "invalid_metadata_key";
    case ValidationCode::kTooManyMetadataEntries: return "too_many_metadata_entries";
    case ValidationCode::kInvalidTraceId: return "invalid_trace_id";
  }
  return "unknown";
}

std::string ValidationError::message() const {
  std::string text(to_string(code));
  if (!field.empty()) {
    text += ": ";
    text += field;
  }
  if (metadata_key[0] != '\0') {
    text += " (key \"";
    text += metadata_key;
    text += "\")";
  }
  return text;
}

ValidationError validate(const LlmCallRecord& record) noexcept {
  if (ValidationError e = validate_identity(record)) return e;
  if (ValidationError e = validate_numbers(record)) return e;
  const std::string_view bad_enum = invalid_enum_field(record);
  if (!bad_enum.empty()) return error(ValidationCode::kInvalidEnum, bad_enum);
  return validate_metadata(record.metadata);
}

}  // namespace opsmeter
