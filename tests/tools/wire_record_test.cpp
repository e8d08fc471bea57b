// Reading the wire format back into records (tools/cli/wire_record.*): the golden payloads
// read and written again give the same objects; each kind of bad line gives its typed error.
#include "wire_record.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "opsmeter/serialize.hpp"

namespace opsmeter::cli {
namespace {

using json = nlohmann::ordered_json;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(OPSMETER_FIXTURE_DIR) + "/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(WireRecord, GoldenPayloadsReadBackToTheSameObjects) {
  for (const char* name : {"payload-openai-real.json", "payload-anthropic-test.json", "payload-demo.json"}) {
    const json golden = json::parse(fixture(name));
    LineError error;
    const std::optional<LlmCallRecord> record = read_record_line(golden.dump(), error);
    ASSERT_TRUE(record.has_value()) << name << ": " << error.code << " " << error.message;
    json again = json::parse(to_json(*record));
    again.erase("metadata");  // the payloads of the official examples carry none
    EXPECT_EQ(again, golden) << name;
  }
}

TEST(WireRecord, MetadataKeepsItsKeysTypesAndOrder) {
  const std::string line =
      R"({"externalRequestId":"ext_1","provider":"openai","model":"gpt-4o","inputTokens":3,"outputTokens":4,)"
      R"("totalTokens":null,"userId":"u_1","metadata":{"tenantId":"t1","tokenSource":"estimated",)"
      R"("traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","zeta":"z","alpha":7,)"
      R"("ratio":0.5,"flag":true,"sdkLanguage":"python","sdkVersion":"9.9"}})";
  LineError error;
  const std::optional<LlmCallRecord> r = read_record_line(line, error);
  ASSERT_TRUE(r.has_value()) << error.message;
  EXPECT_EQ(r->metadata.tenant_id, "t1");
  EXPECT_EQ(r->metadata.token_source, TokenSource::kEstimated);
  EXPECT_EQ(r->metadata.span_id, "00f067aa0ba902b7");
  EXPECT_FALSE(r->total_tokens.has_value());
  EXPECT_EQ(r->effective_total_tokens(), 7);
  ASSERT_EQ(r->metadata.extra.size(), 4u);  // sdkLanguage and sdkVersion are the sender's own
  EXPECT_EQ(r->metadata.extra[0], (std::pair<std::string, MetadataValue>("zeta", std::string("z"))));
  EXPECT_EQ(r->metadata.extra[1], (std::pair<std::string, MetadataValue>("alpha", std::int64_t{7})));
  EXPECT_EQ(r->metadata.extra[2], (std::pair<std::string, MetadataValue>("ratio", 0.5)));
  EXPECT_EQ(r->metadata.extra[3], (std::pair<std::string, MetadataValue>("flag", true)));
}

struct BadLineCase {
  const char* line;
  const char* code;
  const char* field;
};

TEST(WireRecord, EachBadLineHasItsTypedError) {
  const std::string base = R"("externalRequestId":"ext_1","provider":"openai","model":"m")";
  const BadLineCase cases[] = {
      {"{not json", "not_json", ""},
      {"[1,2]", "not_an_object", ""},
      {R"({"externalRequestId":7})", "wrong_type", "externalRequestId"},
      {R"({"inputTokens":"12"})", "wrong_type", "inputTokens"},
      {R"({"latencyMs":1.5})", "wrong_type", "latencyMs"},
      {R"({"inputTokens":18446744073709551615})", "out_of_range", "inputTokens"},
      {R"({"status":"ok"})", "invalid_enum", "status"},
      {R"({"dataMode":"prod"})", "invalid_enum", "dataMode"},
      {R"({"errorCode":5})", "wrong_type", "errorCode"},
      {R"({"timestamp":"2026-01-01"})", "unknown_field", "timestamp"},
      {R"({"metadata":[]})", "wrong_type", "metadata"},
      {R"({"metadata":{"nested":{"a":1}}})", "wrong_type", "metadata.nested"},
      {R"({"metadata":{"tokenSource":"guessed"}})", "invalid_enum", "metadata.tokenSource"},
      {R"({"provider":"openai","model":"m"})", "missing_field", "externalRequestId"},
  };
  for (const BadLineCase& c : cases) {
    std::string line = c.line;
    // Complete partial objects so that only the field under test is wrong.
    if (line.size() > 2 && line[0] == '{' && line[1] == '"' && line.find("externalRequestId") == std::string::npos &&
        std::string(c.code) != "missing_field") {
      line = "{" + base + "," + line.substr(1);
    }
    LineError error;
    EXPECT_FALSE(read_record_line(line, error).has_value()) << line;
    EXPECT_EQ(error.code, c.code) << line;
    EXPECT_EQ(error.field, c.field) << line;
    EXPECT_FALSE(error.message.empty()) << line;
  }
}

TEST(WireRecord, ValidationRunsAfterParsing) {
  LineError error;
  const std::string long_model(200, 'm');
  EXPECT_FALSE(read_record_line(R"({"externalRequestId":"e","provider":"p","model":")" + long_model + R"("})", error));
  EXPECT_EQ(error.code, "field_too_long");
  EXPECT_EQ(error.field, "model");
  EXPECT_FALSE(read_record_line(R"({"externalRequestId":"e","provider":"p","model":"m","inputTokens":-1})", error));
  EXPECT_EQ(error.code, "negative_value");
}

}  // namespace
}  // namespace opsmeter::cli
