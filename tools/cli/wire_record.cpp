// Reading the wire format back into a record, field by field, with a typed error for the first
// problem found.
#include "wire_record.hpp"

#include <cstdint>
#include <limits>

#include <nlohmann/json.hpp>

#include "opsmeter/validation.hpp"

namespace opsmeter::cli {
namespace {

using json = nlohmann::ordered_json;  // user metadata keeps its order

// A parse failure, thrown inside this file only and turned into a LineError.
struct Bad {
  std::string code;
  std::string field;
  std::string message;
};

[[noreturn]] void wrong_type(const std::string& field, const char* expected) {
  throw Bad{"wrong_type", field, field + " must be " + expected};
}

std::string text(const json& v, const std::string& field) {
  if (!v.is_string()) wrong_type(field, "a string");
  return v.get<std::string>();
}

std::optional<std::string> nullable_text(const json& v, const std::string& field) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_string()) wrong_type(field, "a string or null");
  return v.get<std::string>();
}

std::int64_t integer(const json& v, const std::string& field) {
  if (v.is_number_unsigned()) {
    if (v.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      throw Bad{"out_of_range", field, field + " does not fit in a 64-bit integer"};
    }
    return static_cast<std::int64_t>(v.get<std::uint64_t>());
  }
  if (!v.is_number_integer()) wrong_type(field, "an integer");
  return v.get<std::int64_t>();
}

template <typename Enum>
Enum enumerated(const json& v, const std::string& field, std::optional<Enum> (*parse)(std::string_view),
                const char* allowed) {
  const std::string value = text(v, field);
  const std::optional<Enum> parsed = parse(value);
  if (!parsed) throw Bad{"invalid_enum", field, field + " must be one of " + allowed};
  return *parsed;
}

void read_metadata(const json& m, Metadata& out) {
  if (!m.is_object()) wrong_type("metadata", "an object");
  const std::pair<const char*, std::string*> known[] = {
      {"operation", &out.operation},   {"tenantId", &out.tenant_id},
      {"endpoint", &out.endpoint},     {"feature", &out.feature},
      {"providerRequestId", &out.provider_request_id},
      {"traceId", &out.trace_id},      {"spanId", &out.span_id},
  };
  for (const auto& [key, value] : m.items()) {
    const std::string field = "metadata." + key;
    bool done = false;
    for (const auto& [name, target] : known) {
      if (key == name) {
        *target = text(value, field);
        done = true;
      }
    }
    if (done) continue;
    if (key == "tokenSource") {
      out.token_source = enumerated<TokenSource>(value, field, &parse_token_source, "provider, estimated");
    } else if (key == "sdkLanguage" || key == "sdkVersion" || key == "recordedAt") {
      continue;  // the sending client writes its own
    } else if (value.is_string()) {
      out.extra.emplace_back(key, value.get<std::string>());
    } else if (value.is_boolean()) {
      out.extra.emplace_back(key, value.get<bool>());
    } else if (value.is_number_integer()) {
      out.extra.emplace_back(key, integer(value, field));
    } else if (value.is_number_float()) {
      out.extra.emplace_back(key, value.get<double>());
    } else {
      wrong_type(field, "a string, number or boolean");
    }
  }
}

LlmCallRecord read_object(const json& doc) {
  if (!doc.is_object()) throw Bad{"not_an_object", "", "the line is JSON but not an object"};
  LlmCallRecord r;
  for (const auto& [key, value] : doc.items()) {
    if (key == "externalRequestId") r.external_request_id = text(value, key);
    else if (key == "provider") r.provider = text(value, key);
    else if (key == "model") r.model = text(value, key);
    else if (key == "promptVersion") r.prompt_version = text(value, key);
    else if (key == "endpointTag") r.endpoint_tag = text(value, key);
    else if (key == "inputTokens") r.input_tokens = integer(value, key);
    else if (key == "outputTokens") r.output_tokens = integer(value, key);
    else if (key == "totalTokens") r.total_tokens = value.is_null() ? std::nullopt : std::optional(integer(value, key));
    else if (key == "latencyMs") r.latency_ms = integer(value, key);
    else if (key == "status") r.status = enumerated<CallStatus>(value, key, &parse_call_status, "success, error");
    else if (key == "errorCode") r.error_code = nullable_text(value, key);
    else if (key == "userId") r.user_id = nullable_text(value, key);
    else if (key == "dataMode") r.data_mode = enumerated<DataMode>(value, key, &parse_data_mode, "real, test, demo");
    else if (key == "environment") r.environment = enumerated<Environment>(value, key, &parse_environment, "prod, staging, dev");
    else if (key == "metadata") read_metadata(value, r.metadata);
    else throw Bad{"unknown_field", key, "unknown field " + key + " (the ingest API has no such field)"};
  }
  return r;
}

}  // namespace

std::optional<LlmCallRecord> parse_wire_record(std::string_view line, LineError& error) {
  const json doc = json::parse(line, nullptr, false);
  if (doc.is_discarded()) {
    error = {"not_json", "", "the line is not valid JSON"};
    return std::nullopt;
  }
  try {
    return read_object(doc);
  } catch (Bad& bad) {
    error = {std::move(bad.code), std::move(bad.field), std::move(bad.message)};
    return std::nullopt;
  }
}

std::optional<LlmCallRecord> read_record_line(std::string_view line, LineError& error) {
  std::optional<LlmCallRecord> record = parse_wire_record(line, error);
  if (!record) return std::nullopt;
  if (const ValidationError invalid = validate(*record)) {
    // message() starts with the code, which the output prints already: the rest says where.
    std::string code(to_string(invalid.code));
    std::string message = invalid.message();
    if (message.compare(0, code.size() + 2, code + ": ") == 0) message.erase(0, code.size() + 2);
    error = {std::move(code), std::string(invalid.field), std::move(message)};
    return std::nullopt;
  }
  return record;
}

}  // namespace opsmeter::cli
