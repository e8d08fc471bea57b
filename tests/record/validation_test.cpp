// Validation as a table: each row breaks one rule and names the code and field it must yield.
#include <gtest/gtest.h>

#include <ostream>

#include <functional>
#include <limits>

#include "opsmeter/validation.hpp"

namespace opsmeter {
namespace {

LlmCallRecord valid_record() {
  LlmCallRecord r;
  r.external_request_id = "ext_0123";
  r.provider = "openai";
  r.model = "gpt-4o-mini";
  r.input_tokens = 10;
  r.output_tokens = 5;
  r.latency_ms = 12;
  return r;
}

struct Row {
  const char* name;
  std::function<void(LlmCallRecord&)> mutate;
  ValidationCode code;
  std::string_view field;
};

// Readable, stable test names (the default prints the row's raw bytes).
void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

class ValidationTable : public ::testing::TestWithParam<Row> {};

TEST_P(ValidationTable, YieldsTypedError) {
  LlmCallRecord r = valid_record();
  GetParam().mutate(r);
  const ValidationError e = validate(r);
  EXPECT_EQ(e.code, GetParam().code) << e.message();
  EXPECT_EQ(e.field, GetParam().field);
  EXPECT_EQ(e.ok(), GetParam().code == ValidationCode::kOk);
}

std::string bytes(std::size_t n) { return std::string(n, 'x'); }
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

INSTANTIATE_TEST_SUITE_P(
    Rules, ValidationTable,
    ::testing::Values(
        Row{"valid", [](LlmCallRecord&) {}, ValidationCode::kOk, ""},
        Row{"no_id", [](LlmCallRecord& r) { r.external_request_id.clear(); },
            ValidationCode::kMissingField, "externalRequestId"},
        Row{"no_provider", [](LlmCallRecord& r) { r.provider.clear(); },
            ValidationCode::kMissingField, "provider"},
        Row{"no_model", [](LlmCallRecord& r) { r.model.clear(); }, ValidationCode::kMissingField,
            "model"},
        Row{"negative_input", [](LlmCallRecord& r) { r.input_tokens = -1; },
            ValidationCode::kNegativeValue, "inputTokens"},
        Row{"negative_output", [](LlmCallRecord& r) { r.output_tokens = -1; },
            ValidationCode::kNegativeValue, "outputTokens"},
        Row{"negative_total", [](LlmCallRecord& r) { r.total_tokens = -3; },
            ValidationCode::kNegativeValue, "totalTokens"},
        Row{"negative_latency", [](LlmCallRecord& r) { r.latency_ms = -1; },
            ValidationCode::kNegativeValue, "latencyMs"},
        Row{"sum_overflow",
            [](LlmCallRecord& r) {
              r.input_tokens = kMax;
              r.output_tokens = 1;
            },
            ValidationCode::kTokenOverflow, "totalTokens"},
        Row{"sum_overflow_with_explicit_total",
            [](LlmCallRecord& r) {
              r.input_tokens = kMax;
              r.output_tokens = 1;
              r.total_tokens = kMax;
            },
            ValidationCode::kOk, ""},
        Row{"bad_status", [](LlmCallRecord& r) { r.status = static_cast<CallStatus>(9); },
            ValidationCode::kInvalidEnum, "status"},
        Row{"bad_data_mode", [](LlmCallRecord& r) { r.data_mode = static_cast<DataMode>(9); },
            ValidationCode::kInvalidEnum, "dataMode"},
        Row{"bad_environment",
            [](LlmCallRecord& r) { r.environment = static_cast<Environment>(9); },
            ValidationCode::kInvalidEnum, "environment"},
        Row{"bad_token_source",
            [](LlmCallRecord& r) { r.metadata.token_source = static_cast<TokenSource>(9); },
            ValidationCode::kInvalidEnum, "metadata"},
        Row{"id_at_cap", [](LlmCallRecord& r) { r.external_request_id = bytes(128); },
            ValidationCode::kOk, ""},
        Row{"id_over_cap", [](LlmCallRecord& r) { r.external_request_id = bytes(129); },
            ValidationCode::kFieldTooLong, "externalRequestId"},
        Row{"provider_over_cap", [](LlmCallRecord& r) { r.provider = bytes(65); },
            ValidationCode::kFieldTooLong, "provider"},
        Row{"model_over_cap", [](LlmCallRecord& r) { r.model = bytes(129); },
            ValidationCode::kFieldTooLong, "model"},
        Row{"prompt_over_cap", [](LlmCallRecord& r) { r.prompt_version = bytes(129); },
            ValidationCode::kFieldTooLong, "promptVersion"},
        Row{"tag_over_cap", [](LlmCallRecord& r) { r.endpoint_tag = bytes(129); },
            ValidationCode::kFieldTooLong, "endpointTag"},
        Row{"error_code_over_cap", [](LlmCallRecord& r) { r.error_code = bytes(129); },
            ValidationCode::kFieldTooLong, "errorCode"},
        Row{"user_over_cap", [](LlmCallRecord& r) { r.user_id = bytes(257); },
            ValidationCode::kFieldTooLong, "userId"},
        Row{"tenant_over_cap", [](LlmCallRecord& r) { r.metadata.tenant_id = bytes(257); },
            ValidationCode::kFieldTooLong, "metadata"},
        Row{"empty_key",
            [](LlmCallRecord& r) { r.metadata.extra = {{"", std::int64_t{1}}}; },
            ValidationCode::kInvalidMetadataKey, "metadata"},
        Row{"reserved_key",
            [](LlmCallRecord& r) { r.metadata.extra = {{"sdkLanguage", std::string("x")}}; },
            ValidationCode::kInvalidMetadataKey, "metadata"},
        Row{"duplicate_key",
            [](LlmCallRecord& r) { r.metadata.extra = {{"a", true}, {"a", false}}; },
            ValidationCode::kInvalidMetadataKey, "metadata"},
        Row{"key_not_utf8",  // "\xff" and "\xfe" would both be sent as U+FFFD: equal keys
            [](LlmCallRecord& r) { r.metadata.extra = {{"k\xff", true}, {"k\xfe", false}}; },
            ValidationCode::kInvalidMetadataKey, "metadata"},
        Row{"reserved_recorded_at_key",  // the client stamps it on late records
            [](LlmCallRecord& r) { r.metadata.extra = {{"recordedAt", std::string("2026-01-01")}}; },
            ValidationCode::kInvalidMetadataKey, "metadata"},
        Row{"reserved_trace_key",
            [](LlmCallRecord& r) { r.metadata.extra = {{"traceId", std::string("x")}}; },
            ValidationCode::kInvalidMetadataKey, "metadata"},
        Row{"trace_id_not_hex",
            [](LlmCallRecord& r) { r.metadata.trace_id = std::string(32, 'g'); },
            ValidationCode::kInvalidTraceId, "metadata"},
        Row{"span_id_all_zero",
            [](LlmCallRecord& r) {
              r.metadata.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
              r.metadata.span_id = std::string(16, '0');
            },
            ValidationCode::kInvalidTraceId, "metadata"},
        Row{"value_over_cap",
            [](LlmCallRecord& r) { r.metadata.extra = {{"a", bytes(1025)}}; },
            ValidationCode::kFieldTooLong, "metadata"},
        Row{"too_many_entries",
            [](LlmCallRecord& r) {
              for (int i = 0; i < 33; ++i) r.metadata.extra.emplace_back("k" + std::to_string(i), true);
            },
            ValidationCode::kTooManyMetadataEntries, "metadata"}),
    [](const ::testing::TestParamInfo<Row>& row) { return std::string(row.param.name); });

TEST(Validation, MessageNamesCodeAndField) {
  LlmCallRecord r = valid_record();
  r.model.clear();
  EXPECT_EQ(validate(r).message(), "missing_field: model");
  EXPECT_EQ(validate(valid_record()).message(), "ok");
}

// A metadata entry's error names its key (a copy: it outlives the record).
TEST(Validation, AMetadataEntrysErrorNamesItsKey) {
  LlmCallRecord r = valid_record();
  r.metadata.extra = {{"ok", true}, {"sdkLanguage", std::string("x")}};
  ValidationError e = validate(r);
  r = LlmCallRecord{};
  EXPECT_EQ(e.key(), "sdkLanguage");
  EXPECT_EQ(e.message(), "invalid_metadata_key: metadata (key \"sdkLanguage\")");
  LlmCallRecord long_key = valid_record();
  long_key.metadata.extra = {{std::string(70, 'k'), true}};
  EXPECT_EQ(validate(long_key).key(), std::string(64, 'k'));  // cut to 64 bytes
  LlmCallRecord not_an_entry = valid_record();
  not_an_entry.model.clear();
  EXPECT_EQ(validate(not_an_entry).key(), "");
}

TEST(Enums, RoundTripWireNames) {
  for (auto v : {CallStatus::kSuccess, CallStatus::kError}) EXPECT_EQ(parse_call_status(to_string(v)), v);
  for (auto v : {DataMode::kReal, DataMode::kTest, DataMode::kDemo}) {
    EXPECT_EQ(parse_data_mode(to_string(v)), v);
  }
  for (auto v : {Environment::kProd, Environment::kStaging, Environment::kDev}) {
    EXPECT_EQ(parse_environment(to_string(v)), v);
  }
  for (auto v : {TokenSource::kProvider, TokenSource::kEstimated}) {
    EXPECT_EQ(parse_token_source(to_string(v)), v);
  }
  EXPECT_FALSE(parse_environment("production"));
  EXPECT_FALSE(parse_data_mode("REAL"));
  EXPECT_EQ(to_string(static_cast<DataMode>(42)), "invalid");
}

TEST(Record, EffectiveTotalTokens) {
  LlmCallRecord r = valid_record();
  EXPECT_EQ(r.effective_total_tokens(), 15);
  r.total_tokens = 99;
  EXPECT_EQ(r.effective_total_tokens(), 99);
  r.total_tokens.reset();
  r.input_tokens = kMax;
  EXPECT_EQ(r.effective_total_tokens(), kMax);  // saturates; validation rejects this record
}

}  // namespace
}  // namespace opsmeter
