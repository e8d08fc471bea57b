// Golden tests: typed records must serialize to exactly the canonical payloads of the official
// integration examples (tests/fixtures/payload-*.json), field for field and in order.
#include "opsmeter/serialize.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

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

// Whether the serialized body holds the fixture's keys, values and order, then only a
// `metadata` object with the SDK's identity; a failure names the first difference.
::testing::AssertionResult matches_fixture(const std::string& body,
                                           const std::string& fixture_name) {
  const ordered_json expected = load_fixture(fixture_name);
  if (body.empty()) return ::testing::AssertionFailure() << "empty body";
  const ordered_json actual = ordered_json::parse(body);
  if (expected.size() != 14u)
    return ::testing::AssertionFailure() << fixture_name << " has " << expected.size() << " fields";
  if (actual.size() != expected.size() + 1) {
    return ::testing::AssertionFailure() << "field count " << actual.size() << " in " << body;
  }
  auto a = actual.items().begin();
  for (const auto& e : expected.items()) {
    if (a.key() != e.key()) {
      return ::testing::AssertionFailure()
             << "key order differs: " << a.key() << " where " << fixture_name << " has " << e.key();
    }
    if (a.value() != e.value()) {
      return ::testing::AssertionFailure()
             << "value of " << e.key() << ": " << a.value().dump() << " where " << fixture_name
             << " has " << e.value().dump();
    }
    ++a;
  }
  const ordered_json metadata{{"sdkLanguage", "cpp"}, {"sdkVersion", version()}};
  if (a.key() != "metadata" || a.value() != metadata) {
    return ::testing::AssertionFailure() << "last member " << a.key() << ": " << a.value().dump();
  }
  return ::testing::AssertionSuccess();
}

void expect_matches_fixture(const LlmCallRecord& record, const std::string& fixture_name) {
  EXPECT_TRUE(matches_fixture(to_json(record), fixture_name));
}

TEST(GoldenPayload, OpenAiReal) {
  expect_matches_fixture(openai_real_record(), "payload-openai-real.json");
}

TEST(GoldenPayload, AnthropicTest) {
  expect_matches_fixture(anthropic_test_record(), "payload-anthropic-test.json");
}

TEST(GoldenPayload, Demo) { expect_matches_fixture(demo_record(), "payload-demo.json"); }

// The golden comparison itself can fail: a changed value, a reordered key, an extra field.
TEST(GoldenPayload, ComparisonDetectsEachKindOfDifference) {
  LlmCallRecord changed = demo_record();
  changed.output_tokens = 31;
  const ::testing::AssertionResult value = matches_fixture(to_json(changed), "payload-demo.json");
  EXPECT_FALSE(value);
  EXPECT_NE(std::string(value.message()).find("value of outputTokens"), std::string::npos)
      << value.message();

  ordered_json reordered = ordered_json::parse(to_json(demo_record()));
  const ordered_json provider = reordered["provider"];
  reordered.erase("provider");
  ordered_json moved;
  for (const auto& item : reordered.items()) {
    moved[item.key()] = item.value();
    if (item.key() == "model") moved["provider"] = provider;  // after model, not before it
  }
  const ::testing::AssertionResult order = matches_fixture(moved.dump(), "payload-demo.json");
  EXPECT_FALSE(order);
  EXPECT_NE(std::string(order.message()).find("key order differs"), std::string::npos)
      << order.message();

  ordered_json extra = ordered_json::parse(to_json(demo_record()));
  extra["unexpected"] = 1;
  EXPECT_FALSE(matches_fixture(extra.dump(), "payload-demo.json"));
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
  const ordered_json j =
      ordered_json::parse(to_json(r, SerializeDefaults{DataMode::kTest, Environment::kDev}));
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
  r.metadata.extra = {{"region", std::string("eu")},
                      {"attempt", std::int64_t{2}},
                      {"temperature", 0.25},
                      {"cached", true},
                      {"nan", std::nan("")}};
  const ordered_json j = ordered_json::parse(to_json(r));
  EXPECT_EQ(j["status"], "error");
  EXPECT_EQ(j["errorCode"], "provider_timeout");
  EXPECT_EQ(j["userId"], "u_5f2a");
  const ordered_json expected_metadata = ordered_json::parse(
      R"({"operation":"chat.completions","tenantId":"tenant-7","providerRequestId":"chatcmpl-123",)"
      R"("tokenSource":"provider","region":"eu","attempt":2,"temperature":0.25,"cached":true,)"
      R"("nan":null,"sdkLanguage":"cpp","sdkVersion":")" +
      std::string(version()) + R"("})");
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
