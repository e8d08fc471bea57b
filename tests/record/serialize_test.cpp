// Golden tests: typed records must serialize to exactly the canonical payloads of the official
// integration examples (tests/fixtures/payload-*.json), field for field and in order.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "opsmeter/serialize.hpp"
#include "opsmeter/version.hpp"

namespace opsmeter {
namespace {

using ordered_json = nlohmann::ordered_json;

ordered_json load_fixture(const std::string& name) {
  std::ifstream file(std::string(OPSMETER_FIXTURE_DIR) + "/" + name);
  EXPECT_TRUE(file.good()) << "missing fixture " << name;
  std::stringstream text;
  text << file.rdbuf();
  return ordered_json::parse(text.str());
}

LlmCallRecord openai_real_record() {
  LlmCallRecord r;
  r.external_request_id = "ext_d6d2e4e3ea72d9f95fdb5e2c";
  r.provider = "openai";
  r.model = "gpt-4o-mini";
  r.prompt_version = "summary_v3";
  r.endpoint_tag = "checkout.ai_summary";
  r.input_tokens = 120;
  r.output_tokens = 45;
  r.latency_ms = 820;
  r.data_mode = DataMode::kReal;
  r.environment = Environment::kProd;
  return r;
}

LlmCallRecord anthropic_test_record() {
  LlmCallRecord r;
  r.external_request_id = "ext_339d2ac074f5ebd702ad95f2";
  r.provider = "anthropic";
  r.model = "claude-3-5-sonnet-20241022";
  r.prompt_version = "support_reply_v2";
  r.endpoint_tag = "support.reply";
  r.input_tokens = 480;
  r.output_tokens = 210;
  r.total_tokens = 690;
  r.latency_ms = 1360;
  r.data_mode = DataMode::kTest;
  r.environment = Environment::kStaging;
  return r;
}

LlmCallRecord demo_record() {
  LlmCallRecord r;
  r.external_request_id = "ext_d7c1d0840d54dd8cb5df79a8";
  r.provider = "openai";
  r.model = "gpt-4o-mini";
  r.prompt_version = "demo_flow_v1";
  r.endpoint_tag = "demo.preview";
  r.input_tokens = 90;
  r.output_tokens = 30;
  r.latency_ms = 450;
  r.data_mode = DataMode::kDemo;
  r.environment = Environment::kDev;
  return r;
}

// The serialized body must hold the fixture's keys, values and order, then only `metadata`.
void expect_matches_fixture(const LlmCallRecord& record, const std::string& fixture_name) {
  const ordered_json expected = load_fixture(fixture_name);
  const std::string body = to_json(record);
  ASSERT_FALSE(body.empty());
  const ordered_json actual = ordered_json::parse(body);

  ASSERT_EQ(expected.size(), 14u) << fixture_name;
  ASSERT_EQ(actual.size(), expected.size() + 1) << body;
  auto a = actual.items().begin();
  for (const auto& e : expected.items()) {
    EXPECT_EQ(a.key(), e.key()) << fixture_name << ": key order differs";
    EXPECT_EQ(a.value(), e.value()) << fixture_name << ": value of " << e.key();
    ++a;
  }
  EXPECT_EQ(a.key(), "metadata");
  EXPECT_EQ(a.value(), (ordered_json{{"sdkLanguage", "cpp"}, {"sdkVersion", version()}}));
}

TEST(GoldenPayload, OpenAiReal) { expect_matches_fixture(openai_real_record(), "payload-openai-real.json"); }

TEST(GoldenPayload, AnthropicTest) {
  expect_matches_fixture(anthropic_test_record(), "payload-anthropic-test.json");
}

TEST(GoldenPayload, Demo) { expect_matches_fixture(demo_record(), "payload-demo.json"); }

TEST(GoldenPayload, ChangedFieldIsDetected) {
  LlmCallRecord r = demo_record();
  r.output_tokens = 31;  // totalTokens and outputTokens now differ from the fixture
  const ordered_json expected = load_fixture("payload-demo.json");
  const ordered_json actual = ordered_json::parse(to_json(r));
  EXPECT_NE(actual["outputTokens"], expected["outputTokens"]);
  EXPECT_NE(actual["totalTokens"], expected["totalTokens"]);
}

TEST(Serialize, ExactBytesOfDemoRecord) {
  const std::string expected =
      R"({"externalRequestId":"ext_d7c1d0840d54dd8cb5df79a8","provider":"openai",)"
      R"("model":"gpt-4o-mini","promptVersion":"demo_flow_v1","endpointTag":"demo.preview",)"
      R"("inputTokens":90,"outputTokens":30,"totalTokens":120,"latencyMs":450,)"
      R"("status":"success","errorCode":null,"userId":null,"dataMode":"demo",)"
      R"("environment":"dev","metadata":{"sdkLanguage":"cpp","sdkVersion":")" +
      std::string(version()) + R"("}})";
  EXPECT_EQ(to_json(demo_record()), expected);
}

TEST(Serialize, DefaultsForUnsetFields) {
  LlmCallRecord r;
  r.external_request_id = "ext_1";
  r.provider = "acme-llm";  // unknown providers are sent unchanged
  r.model = "m";
  const ordered_json j = ordered_json::parse(to_json(r, SerializeDefaults{DataMode::kTest, Environment::kDev}));
  EXPECT_EQ(j["provider"], "acme-llm");
  EXPECT_EQ(j["promptVersion"], "unknown");
  EXPECT_EQ(j["endpointTag"], "unknown");
  EXPECT_EQ(j["totalTokens"], 0);
  EXPECT_EQ(j["dataMode"], "test");
  EXPECT_EQ(j["environment"], "dev");
  EXPECT_TRUE(j["errorCode"].is_null());
  EXPECT_TRUE(j["userId"].is_null());
}

TEST(Serialize, ErrorRecordWithMetadata) {
  LlmCallRecord r = openai_real_record();
  r.status = CallStatus::kError;
  r.error_code = "provider_timeout";
  r.user_id = "u_5f2a";
  r.metadata.operation = "chat.completions";
  r.metadata.tenant_id = "tenant-7";
  r.metadata.provider_request_id = "chatcmpl-123";
  r.metadata.token_source = TokenSource::kProvider;
  r.metadata.extra = {{"region", std::string("eu")}, {"attempt", std::int64_t{2}},
                      {"temperature", 0.25}, {"cached", true}, {"nan", std::nan("")}};
  const ordered_json j = ordered_json::parse(to_json(r));
  EXPECT_EQ(j["status"], "error");
  EXPECT_EQ(j["errorCode"], "provider_timeout");
  EXPECT_EQ(j["userId"], "u_5f2a");
  const ordered_json expected_metadata = ordered_json::parse(
      R"({"operation":"chat.completions","tenantId":"tenant-7","providerRequestId":"chatcmpl-123",)"
      R"("tokenSource":"provider","region":"eu","attempt":2,"temperature":0.25,"cached":true,)"
      R"("nan":null,"sdkLanguage":"cpp","sdkVersion":")" + std::string(version()) + R"("})");
  EXPECT_EQ(j["metadata"], expected_metadata);
}

TEST(Serialize, ExplicitTotalTokensWins) {
  LlmCallRecord r = demo_record();
  r.total_tokens = 500;
  EXPECT_EQ(ordered_json::parse(to_json(r))["totalTokens"], 500);
}

TEST(Serialize, HostileStringsStayValidJson) {
  LlmCallRecord r = demo_record();
  r.model = std::string("a\"b\\c\n\t\x01\x1f\0", 10) + "\xff\xfe" + "\xC3\xA9";  // é is valid
  r.endpoint_tag = std::string("nul\0byte", 8);
  const std::string body = to_json(r);
  const ordered_json j = ordered_json::parse(body);  // throws if the JSON were invalid
  EXPECT_EQ(j["model"].get<std::string>(),
            std::string("a\"b\\c\n\t\x01\x1f\0", 10) + "\xEF\xBF\xBD\xEF\xBF\xBD\xC3\xA9");
  EXPECT_EQ(j["endpointTag"], std::string("nul\0byte", 8));
}

}  // namespace
}  // namespace opsmeter
