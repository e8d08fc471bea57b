// The capture helper over loopback: every form of `read`, streams, exceptions, references,
// options and the nlohmann::json adapter, asserted on what the mock server stored.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "capture.hpp"
#include "opsmeter/adapters/nlohmann_json.hpp"
#include "opsmeter/capture.hpp"
#include "opsmeter/testing/mock_ingest_server.hpp"
#include "test_client.hpp"

namespace opsmeter {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// An OpenAI chat completion with usage (cached and reasoning tokens included).
constexpr std::string_view kChatBody = R"({"id":"chatcmpl-1","object":"chat.completion",
  "model":"gpt-4o-mini-2024-07-18","choices":[],
  "usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150,
           "prompt_tokens_details":{"cached_tokens":100},
           "completion_tokens_details":{"reasoning_tokens":10}}})";

// The same call as a stream with stream_options.include_usage.
constexpr std::string_view kChatStream =
    "data: {\"id\":\"chatcmpl-2\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n"
    "data: {\"id\":\"chatcmpl-2\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\","
    "\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5,\"total_tokens\":17}}\n\n"
    "data: [DONE]\n\n";

struct HttpReply {
  long status = 0;
  std::string body;
};

struct ProviderFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class CaptureHelper : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.start()) << server_.last_error();
    Options o;
    o.api_key = "test-key";
    o.base_url = server_.base_url();
    o.timeout = 5s;
    o.on_log = logs_.sink();
    client_.emplace(test::make_client(std::move(o)));
  }

  // The stored records, after everything recorded was delivered.
  std::vector<json> delivered() {
    EXPECT_EQ(client_->flush(10s), FlushResult::kFlushed);
    std::vector<json> out;
    for (const auto& body : server_.stored_bodies()) out.push_back(json::parse(body));
    return out;
  }

  testing::MockIngestServer server_;
  test::LogCapture logs_;
  std::optional<Client> client_;
  Client& client() { return *client_; }
};

TEST_F(CaptureHelper, ABodyReadByAnExtractorIsRecordedAndReturnedUnchanged) {
  const std::string body = capture(
      client(), "openai", "gpt-4o-mini", [] { return std::string(kChatBody); }, extract_openai_chat);
  EXPECT_EQ(body, kChatBody);
  const auto rows = delivered();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["status"], "success");
  EXPECT_EQ(rows[0]["model"], "gpt-4o-mini-2024-07-18");
  EXPECT_EQ(rows[0]["inputTokens"], 120);
  EXPECT_EQ(rows[0]["outputTokens"], 30);
  EXPECT_EQ(rows[0]["totalTokens"], 150);
  EXPECT_EQ(rows[0]["metadata"]["cachedInputTokens"], 100);
  EXPECT_EQ(rows[0]["metadata"]["reasoningTokens"], 10);
  EXPECT_EQ(rows[0]["metadata"]["providerRequestId"], "chatcmpl-1");
  EXPECT_EQ(rows[0]["metadata"]["tokenSource"], "provider");
}

TEST_F(CaptureHelper, AnHttpReplyIsJudgedByItsStatus) {
  const auto read = [](const HttpReply& r) { return http_outcome(r.status, r.body, extract_openai_chat); };
  CallOptions how;
  how.endpoint_tag = "support.reply";
  const HttpReply ok = capture(client(), "openai", "gpt-4o-mini", how,
                               [] { return HttpReply{200, std::string(kChatBody)}; }, read);
  EXPECT_EQ(ok.status, 200);
  const HttpReply limited = capture(client(), "openai", "gpt-4o-mini",
      [] { return HttpReply{429, R"({"error":{"message":"slow down"}})"}; }, read);
  EXPECT_EQ(limited.status, 429);
  const HttpReply dead = capture(client(), "openai", "gpt-4o-mini", [] { return HttpReply{}; }, read);
  EXPECT_EQ(dead.status, 0);
  const auto rows = delivered();
  ASSERT_EQ(rows.size(), 3u);
  std::map<std::string, json> by_code;
  for (const json& r : rows) by_code[r["errorCode"].is_null() ? "" : r["errorCode"].get<std::string>()] = r;
  ASSERT_EQ(by_code.size(), 3u);
  EXPECT_EQ(by_code[""]["status"], "success");
  EXPECT_EQ(by_code[""]["inputTokens"], 120);
  EXPECT_EQ(by_code[""]["endpointTag"], "support.reply");
  EXPECT_EQ(by_code["rate_limited"]["status"], "error");
  EXPECT_EQ(by_code["rate_limited"]["inputTokens"], 0);
  EXPECT_EQ(by_code["provider_unreachable"]["status"], "error");
}

TEST_F(CaptureHelper, AnExceptionIsRecordedAndPropagatesUnchanged) {
  std::string what;
  try {
    (void)capture(
        client(), "anthropic", "claude-sonnet-4", []() -> std::string { throw ProviderFailure("provider exploded"); },
        extract_anthropic);
    ADD_FAILURE() << "the exception did not propagate";
  } catch (const ProviderFailure& e) {
    what = e.what();
  }
  EXPECT_EQ(what, "provider exploded");
  const auto rows = delivered();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["status"], "error");
  EXPECT_EQ(rows[0]["errorCode"], "exception");
  EXPECT_EQ(rows[0]["provider"], "anthropic");
}

TEST_F(CaptureHelper, AReferenceStaysAReferenceAndAVoidCallIsRecorded) {
  std::string cached(kChatBody);
  std::string& same = capture(
      client(), "openai", "gpt-4o-mini", [&]() -> std::string& { return cached; }, extract_openai_chat);
  EXPECT_EQ(&same, &cached);
  bool ran = false;
  capture(client(), "ollama", "llama3.2", [&] { ran = true; });
  EXPECT_TRUE(ran);
  const auto rows = delivered();
  ASSERT_EQ(rows.size(), 2u);
  for (const json& r : rows) EXPECT_EQ(r["status"], "success");
}

TEST_F(CaptureHelper, AReadThatTakesTheScopeSetsAnything) {
  const int answer = capture(
      client(), "self-hosted", "qwen2.5-7b", [] { return 42; },
      [](const int& value, CallScope& scope) {
        scope.set_usage(estimate_usage("a prompt of some length", "an answer"));
        scope.set_metadata("answer", static_cast<std::int64_t>(value));
      });
  EXPECT_EQ(answer, 42);
  const auto rows = delivered();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["metadata"]["answer"], 42);
  EXPECT_EQ(rows[0]["metadata"]["tokenSource"], "estimated");
  EXPECT_GT(rows[0]["inputTokens"].get<int>(), 0);
}

TEST_F(CaptureHelper, AStreamIsReadFromItsTapAndAFailedStatusKeepsItsUsage) {
  const auto stream = [](StreamTap tap) {
    for (std::size_t at = 0; at < kChatStream.size(); at += 7) tap(kChatStream.substr(at, 7));
    return 200L;
  };
  const long status = capture_stream(client(), "openai", "gpt-4o-mini", StreamFormat::kOpenAiChat, stream,
                                     [](long s) { return http_outcome(s); });
  EXPECT_EQ(status, 200);
  // The stream broke off with a 502 after its usage arrived: an error that still cost tokens.
  (void)capture_stream(client(), "openai", "gpt-4o-mini", StreamFormat::kOpenAiChat,
                       [&](StreamTap tap) {
                         tap.feed(kChatStream);
                         return 502L;
                       },
                       [](long s) { return http_outcome(s); });
  capture_stream(client(), "openai", "gpt-4o-mini", StreamFormat::kOpenAiChat,
                 [](StreamTap tap) { tap("data: {\"choices\":[]}\n\n"); });
  const auto rows = delivered();
  ASSERT_EQ(rows.size(), 3u);
  int successes_with_usage = 0, failures_with_usage = 0, without_usage = 0;
  for (const json& r : rows) {
    if (r["inputTokens"] == 12 && r["outputTokens"] == 5) {
      EXPECT_EQ(r["model"], "gpt-4o-mini-2024-07-18");
      successes_with_usage += r["status"] == "success";
      failures_with_usage += r["status"] == "error" && r["errorCode"] == "provider_http_502";
    } else {
      without_usage += r["inputTokens"] == 0 && r["status"] == "success";
    }
  }
  EXPECT_EQ(successes_with_usage, 1);
  EXPECT_EQ(failures_with_usage, 1);
  EXPECT_EQ(without_usage, 1);
}

TEST_F(CaptureHelper, ParsedJsonIsReadThroughTheAdapter) {
  const json reply = capture(
      client(), "openai", "gpt-4o-mini", [] { return json::parse(kChatBody); }, json_reader(extract_openai_chat));
  EXPECT_EQ(reply["id"], "chatcmpl-1");
  // ordered_json and a string that is not UTF-8 (replaced, never thrown).
  nlohmann::ordered_json odd = nlohmann::ordered_json::parse(
      R"({"message":{"content":""},"model":"llama3.2","done":true,"prompt_eval_count":26,"eval_count":290})");
  odd["message"]["content"] = std::string("\xff\xfe broken");
  (void)capture(client(), "ollama", "llama3.2", [&] { return odd; }, json_reader(extract_ollama));
  const auto rows = delivered();
  ASSERT_EQ(rows.size(), 2u);
  int openai = 0, ollama = 0;
  for (const json& r : rows) {
    openai += r["provider"] == "openai" && r["inputTokens"] == 120 && r["outputTokens"] == 30;
    ollama += r["provider"] == "ollama" && r["inputTokens"] == 26 && r["outputTokens"] == 290;
  }
  EXPECT_EQ(openai, 1);
  EXPECT_EQ(ollama, 1);
}

// The status table of http_outcome, without a server.
TEST(HttpOutcome, StatusesMapToErrorCodes) {
  struct Row {
    long status;
    const char* error_code;
  } rows[] = {{200, ""}, {201, ""}, {299, ""}, {0, "provider_unreachable"}, {-1, "provider_unreachable"},
              {408, "provider_timeout"}, {504, "provider_timeout"}, {429, "rate_limited"},
              {400, "provider_http_400"}, {503, "provider_http_503"}, {300, "provider_http_300"}};
  for (const Row& row : rows) {
    const CallOutcome out = http_outcome(row.status, kChatBody, extract_openai_chat);
    EXPECT_EQ(out.error_code, row.error_code) << row.status;
    // The model and id of an error body are kept; its usage is not the call's.
    EXPECT_EQ(out.response.has_usage, out.error_code.empty()) << row.status;
    EXPECT_EQ(out.response.model, "gpt-4o-mini-2024-07-18") << row.status;
  }
  const CallOutcome bare = http_outcome(200);
  EXPECT_TRUE(bare.error_code.empty());
  EXPECT_FALSE(bare.response.has_usage);
}

}  // namespace
}  // namespace opsmeter
