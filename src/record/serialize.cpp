// Record serialization: the canonical ingest body, written by hand for exact field order and
// to keep JSON libraries off the worker's per-record path.
#include "opsmeter/serialize.hpp"

#include <new>

#include "opsmeter/version.hpp"
#include "record/utf8_json.hpp"

namespace opsmeter {
namespace {

using detail::append_json_int;
using detail::append_json_string;

constexpr std::string_view kUnknown = "unknown";

void key(std::string& out, std::string_view name) {
  out += '"';
  out += name;  // keys are our own ASCII literals or validated user keys (escaped below)
  out += "\":";
}

void string_field(std::string& out, std::string_view name, std::string_view value) {
  key(out, name);
  append_json_string(out, value);
  out += ',';
}

void nullable_field(std::string& out, std::string_view name, const std::optional<std::string>& v) {
  key(out, name);
  if (v) {
    append_json_string(out, *v);
  } else {
    out += "null";
  }
  out += ',';
}

void int_field(std::string& out, std::string_view name, std::int64_t value) {
  key(out, name);
  append_json_int(out, value);
  out += ',';
}

void metadata_value(std::string& out, const MetadataValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    append_json_string(out, *s);
  } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
    append_json_int(out, *i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    detail::append_json_double(out, *d);
  } else {
    out += std::get<bool>(value) ? "true" : "false";
  }
}

void append_metadata(std::string& out, const Metadata& m) {
  out += "\"metadata\":{";
  const std::pair<std::string_view, const std::string*> known[] = {
      {"operation", &m.operation},
      {"tenantId", &m.tenant_id},
      {"endpoint", &m.endpoint},
      {"feature", &m.feature},
      {"providerRequestId", &m.provider_request_id},
  };
  for (const auto& [name, value] : known) {
    if (!value->empty()) string_field(out, name, *value);
  }
  if (m.token_source) string_field(out, "tokenSource", to_string(*m.token_source));
  if (!m.trace_id.empty()) string_field(out, "traceId", m.trace_id);
  if (!m.span_id.empty()) string_field(out, "spanId", m.span_id);
  for (const auto& [user_key, value] : m.extra) {
    append_json_string(out, user_key);
    out += ':';
    metadata_value(out, value);
    out += ',';
  }
  string_field(out, "sdkLanguage", "cpp");
  key(out, "sdkVersion");
  append_json_string(out, version());
  out += '}';
}

void append_body(const LlmCallRecord& r, const SerializeDefaults& defaults, std::string& out) {
  out += '{';
  string_field(out, "externalRequestId", r.external_request_id);
  string_field(out, "provider", r.provider);
  string_field(out, "model", r.model);
  string_field(out, "promptVersion", r.prompt_version.empty() ? kUnknown : r.prompt_version);
  string_field(out, "endpointTag", r.endpoint_tag.empty() ? kUnknown : r.endpoint_tag);
  int_field(out, "inputTokens", r.input_tokens);
  int_field(out, "outputTokens", r.output_tokens);
  int_field(out, "totalTokens", r.effective_total_tokens());
  int_field(out, "latencyMs", r.latency_ms);
  string_field(out, "status", to_string(r.status));
  nullable_field(out, "errorCode", r.error_code);
  nullable_field(out, "userId", r.user_id);
  string_field(out, "dataMode", to_string(r.data_mode.value_or(defaults.data_mode)));
  string_field(out, "environment", to_string(r.environment.value_or(defaults.environment)));
  append_metadata(out, r.metadata);
  out += '}';
}

}  // namespace

bool append_json(const LlmCallRecord& record, const SerializeDefaults& defaults,
                 std::string& out) noexcept {
  const std::size_t original_size = out.size();
  try {
    out.reserve(original_size + 512);
    append_body(record, defaults, out);
    return true;
  } catch (...) {  // only std::bad_alloc can reach here
    out.resize(original_size);
    return false;
  }
}

std::string to_json(const LlmCallRecord& record, const SerializeDefaults& defaults) noexcept {
  std::string out;
  if (!append_json(record, defaults, out)) return std::string();
  return out;
}

}  // namespace opsmeter
