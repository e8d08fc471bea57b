// Usage extraction from realistic provider bodies, including cache and reasoning tokens,
// streams, missing usage, `usage: null` and malformed JSON.
#include <gtest/gtest.h>

#include <limits>

#include "opsmeter/usage.hpp"

namespace opsmeter {
namespace {

TEST(OpenAiChat, NormalWithCachedAndReasoningTokens) {
  const auto r = extract_openai_chat(R"({
    "id": "chatcmpl-AbC123", "object": "chat.completion", "created": 1733000000,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500,
              "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
              "completion_tokens_details": {"reasoning_tokens": 192, "audio_tokens": 0}},
    "system_fingerprint": "fp_0ba0d124f1"})");
  ASSERT_TRUE(r.has_usage) << r.error;
  EXPECT_EQ(r.usage.input_tokens, 1200);  // prompt_tokens already includes the cached 1024
  EXPECT_EQ(r.usage.output_tokens, 300);  // completion_tokens already includes reasoning
  EXPECT_EQ(r.usage.total_tokens, 1500);
  EXPECT_EQ(r.usage.cached_input_tokens, 1024);
  EXPECT_EQ(r.usage.reasoning_tokens, 192);
  EXPECT_EQ(r.usage.source, TokenSource::kProvider);
  EXPECT_EQ(r.model, "gpt-4o-mini-2024-07-18");
  EXPECT_EQ(r.id, "chatcmpl-AbC123");
}

TEST(OpenAiChat, MissingNullAndMalformedUsage) {
  const auto missing = extract_openai_chat(R"({"id":"x","model":"gpt-4o","choices":[]})");
  EXPECT_FALSE(missing.has_usage);
  EXPECT_EQ(missing.error, "no usage object");
  EXPECT_EQ(missing.model, "gpt-4o");  // the other facts are still read
  const auto null_usage = extract_openai_chat(R"({"id":"x","usage":null})");
  EXPECT_FALSE(null_usage.has_usage);
  EXPECT_EQ(null_usage.error, "no usage object");
  const auto malformed = extract_openai_chat(R"({"id":"x","usage":{"prompt_tokens":)");
  EXPECT_FALSE(malformed.has_usage);
  EXPECT_EQ(malformed.error, "malformed JSON");
  const auto wrong = extract_openai_chat(R"({"usage":{"prompt_tokens":"12","completion_tokens":-4}})");
  ASSERT_TRUE(wrong.has_usage);
  EXPECT_EQ(wrong.usage.input_tokens, 0);   // wrong type ignored
  EXPECT_EQ(wrong.usage.output_tokens, 0);  // negative ignored
  EXPECT_FALSE(wrong.usage.total_tokens.has_value());
  EXPECT_FALSE(extract_openai_chat("[1,2]").has_usage);
  EXPECT_FALSE(extract_openai_chat("").has_usage);
}

TEST(OpenAiResponses, InputOutputTotal) {
  const auto r = extract_openai_responses(R"({
    "id": "resp_67ccd2bed1ec8190", "object": "response", "model": "gpt-4.1-2025-04-14",
    "output": [{"type": "message", "content": [{"type": "output_text", "text": "Hi"}]}],
    "usage": {"input_tokens": 36, "input_tokens_details": {"cached_tokens": 0},
              "output_tokens": 87, "output_tokens_details": {"reasoning_tokens": 0},
              "total_tokens": 123}})");
  ASSERT_TRUE(r.has_usage);
  EXPECT_EQ(r.usage.input_tokens, 36);
  EXPECT_EQ(r.usage.output_tokens, 87);
  EXPECT_EQ(r.usage.total_tokens, 123);
  EXPECT_EQ(r.id, "resp_67ccd2bed1ec8190");
}

TEST(Anthropic, CacheTokensAddToInput) {
  const auto r = extract_anthropic(R"({
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
    "model": "claude-3-5-sonnet-20241022",
    "content": [{"type": "text", "text": "Hello!"}], "stop_reason": "end_turn",
    "usage": {"input_tokens": 480, "cache_creation_input_tokens": 1000,
              "cache_read_input_tokens": 2000, "output_tokens": 210}})");
  ASSERT_TRUE(r.has_usage);
  EXPECT_EQ(r.usage.input_tokens, 3480);
  EXPECT_EQ(r.usage.output_tokens, 210);
  EXPECT_FALSE(r.usage.total_tokens.has_value());  // Anthropic sends none: input + output
  EXPECT_EQ(r.usage.cache_creation_input_tokens, 1000);
  EXPECT_EQ(r.usage.cached_input_tokens, 2000);
  EXPECT_EQ(r.model, "claude-3-5-sonnet-20241022");
  EXPECT_EQ(r.id, "msg_01XFDUDYJgAACzvnptvVoYEL");
  EXPECT_FALSE(extract_anthropic(R"({"type":"error","error":{"type":"overloaded_error"}})").has_usage);
}

TEST(Gemini, UsageMetadataWithThoughtsAndCache) {
  const auto r = extract_gemini(R"({
    "candidates": [{"content": {"parts": [{"text": "Hi"}], "role": "model"}, "finishReason": "STOP"}],
    "usageMetadata": {"promptTokenCount": 900, "candidatesTokenCount": 100,
                      "thoughtsTokenCount": 50, "totalTokenCount": 1050,
                      "cachedContentTokenCount": 600},
    "modelVersion": "gemini-2.5-flash", "responseId": "mhM7aPKuLIaZ1dkPr8yW0Ak"})");
  ASSERT_TRUE(r.has_usage);
  EXPECT_EQ(r.usage.input_tokens, 900);
  EXPECT_EQ(r.usage.output_tokens, 150);
  EXPECT_EQ(r.usage.total_tokens, 1050);
  EXPECT_EQ(r.usage.cached_input_tokens, 600);
  EXPECT_EQ(r.usage.reasoning_tokens, 50);
  EXPECT_EQ(r.model, "gemini-2.5-flash");
  EXPECT_EQ(r.id, "mhM7aPKuLIaZ1dkPr8yW0Ak");
  EXPECT_FALSE(extract_gemini(R"({"candidates":[]})").has_usage);
}

const char* kOpenAiStream =
    "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\","
    "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"}}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\","
    "\"choices\":[],\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,\"total_tokens\":29,"
    "\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n\n"
    "data: [DONE]\n\n";

// Counts near INT64_MAX from a hostile body add up without signed overflow (UBSan would
// abort): the sums saturate.
TEST(HugeCounts, SumsSaturate) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  const ProviderResponse a = extract_anthropic(
      R"({"usage":{"input_tokens":9223372036854775807,"cache_read_input_tokens":9223372036854775807,)"
      R"("cache_creation_input_tokens":5,"output_tokens":1}})");
  ASSERT_TRUE(a.has_usage);
  EXPECT_EQ(a.usage.input_tokens, kMax);
  const ProviderResponse g = extract_gemini(
      R"({"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":9223372036854775807,)"
      R"("thoughtsTokenCount":9223372036854775807}})");
  ASSERT_TRUE(g.has_usage);
  EXPECT_EQ(g.usage.output_tokens, kMax);
  StreamUsage stream(StreamFormat::kAnthropicMessages);
  stream.feed("data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":9223372036854775807,"
              "\"cache_read_input_tokens\":9223372036854775807}}}\n");
  EXPECT_EQ(stream.result().usage.input_tokens, kMax);
  EXPECT_TRUE(stream.result().has_usage);
  EXPECT_EQ(stream.result().error, "");  // usage arrived: no "no usage in stream yet"
}

TEST(Streaming, OpenAiFinalUsageChunkInAnySplit) {
  const std::string stream = kOpenAiStream;
  for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{64}, stream.size()}) {
    StreamUsage acc(StreamFormat::kOpenAiChat);
    for (std::size_t at = 0; at < stream.size(); at += piece) acc.feed(std::string_view(stream).substr(at, piece));
    const ProviderResponse r = acc.result();
    ASSERT_TRUE(r.has_usage) << "piece " << piece;
    EXPECT_EQ(r.usage.input_tokens, 19);
    EXPECT_EQ(r.usage.output_tokens, 10);
    EXPECT_EQ(r.usage.total_tokens, 29);
    EXPECT_EQ(r.model, "gpt-4o-mini-2024-07-18");
    EXPECT_EQ(r.id, "chatcmpl-9");
  }
}

TEST(Streaming, OpenAiWithoutIncludeUsageHasNone) {
  StreamUsage acc(StreamFormat::kOpenAiChat);
  acc.feed("data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]\n\n");
  EXPECT_FALSE(acc.result().has_usage);
  EXPECT_FALSE(acc.result().error.empty());
}

TEST(Streaming, AnthropicMessageStartAndDelta) {
  StreamUsage acc(StreamFormat::kAnthropicMessages);
  acc.feed(
      "event: message_start\r\n"
      "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY\","
      "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-3-5-sonnet-20241022\","
      "\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":100,"
      "\"output_tokens\":1}}}\r\n\r\n"
      "event: content_block_delta\r\n"
      "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\r\n\r\n"
      "event: message_delta\r\n"
      "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":15}}\r\n\r\n"
      "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n");
  const ProviderResponse r = acc.result();
  ASSERT_TRUE(r.has_usage);
  EXPECT_EQ(r.usage.input_tokens, 125);
  EXPECT_EQ(r.usage.cached_input_tokens, 100);
  EXPECT_EQ(r.usage.output_tokens, 15);
  EXPECT_EQ(r.model, "claude-3-5-sonnet-20241022");
}

TEST(Streaming, MalformedEventsAreSkipped) {
  StreamUsage acc(StreamFormat::kOpenAiChat);
  acc.feed("data: {not json}\n\ndata: {\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\n\n");
  ASSERT_TRUE(acc.result().has_usage);
  EXPECT_EQ(acc.result().usage.output_tokens, 4);
}

// The parser builds only the members the readers use; everything else is lexed and dropped.
// These bodies check that dropping never changes what is read.
TEST(SkippedMembers, NestedAndTrickyContentIsSkippedCleanly) {
  std::string nested;
  for (int i = 0; i < 40; ++i) nested += R"({"a":[1,{"b":)";
  nested += "null";
  for (int i = 0; i < 40; ++i) nested += "}]}";
  const std::string big(1 << 20, 'x');  // a 1 MiB generated text
  const auto r = extract_openai_chat(
      R"({"choices":[{"message":{"content":"usage: {\"prompt_tokens\": 99} }]\"\\"}},)"
      R"({"message":{"content":")" + big + R"("}}],"deep":)" + nested +
      R"(,"usage":{"prompt_tokens":7,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":2}},)"
      R"("model":"m-1","system_fingerprint":{"model":"not this one"}})");
  ASSERT_TRUE(r.has_usage) << r.error;
  EXPECT_EQ(r.usage.input_tokens, 7);
  EXPECT_EQ(r.usage.output_tokens, 5);
  EXPECT_EQ(r.usage.cached_input_tokens, 2);
  EXPECT_EQ(r.model, "m-1");  // only the top-level member counts
}

TEST(SkippedMembers, LastDuplicateMemberWinsAsInAFullParse) {
  const auto r = extract_openai_chat(
      R"({"usage":{"prompt_tokens":1,"completion_tokens":1},"model":"a",)"
      R"("usage":{"prompt_tokens":10},"model":"b"})");
  ASSERT_TRUE(r.has_usage);
  EXPECT_EQ(r.usage.input_tokens, 10);
  EXPECT_EQ(r.usage.output_tokens, 0);  // not carried over from the first usage object
  EXPECT_EQ(r.model, "b");
  const auto now_null = extract_openai_chat(R"({"usage":{"prompt_tokens":1},"usage":null})");
  EXPECT_FALSE(now_null.has_usage);
  EXPECT_EQ(now_null.error, "no usage object");
}

TEST(SkippedMembers, ErrorsInSkippedPartsStillFailTheParse) {
  EXPECT_EQ(extract_openai_chat(R"({"choices":[1,}],"usage":{"prompt_tokens":1}})").error, "malformed JSON");
  EXPECT_EQ(extract_openai_chat(R"({"usage":{"prompt_tokens":1}} trailing)").error, "malformed JSON");
  EXPECT_EQ(extract_openai_chat(R"([{"usage":{"prompt_tokens":1}}])").error, "response is not a JSON object");
  EXPECT_EQ(extract_openai_chat("42").error, "response is not a JSON object");
  EXPECT_EQ(extract_anthropic(R"({"content":[{"text":"hi"}],"usage":[]})").error, "usage is not an object");
}

TEST(Estimate, FourBytesPerTokenRoundedUp) {
  EXPECT_EQ(estimate_tokens(""), 0);
  EXPECT_EQ(estimate_tokens("abc"), 1);
  EXPECT_EQ(estimate_tokens("abcd"), 1);
  EXPECT_EQ(estimate_tokens("abcde"), 2);
  const Usage u = estimate_usage(std::string(400, 'x'), std::string(41, 'y'));
  EXPECT_EQ(u.input_tokens, 100);
  EXPECT_EQ(u.output_tokens, 11);
  EXPECT_EQ(u.source, TokenSource::kEstimated);
}

}  // namespace
}  // namespace opsmeter
