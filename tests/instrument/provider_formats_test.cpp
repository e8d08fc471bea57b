// The provider formats beyond OpenAI, Anthropic and Gemini bodies, each with the provider's
// documented example shape: Ollama's native API (a body and an NDJSON stream), Bedrock's
// Converse (with and without the prompt cache), the OpenAI Responses and Gemini streams, and
// the cache counts of DeepSeek and llama.cpp's server. Streams give the same result fed whole,
// byte by byte and in random small chunks.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "opsmeter/usage.hpp"

namespace opsmeter {
namespace {

// Feeds `bytes` whole, byte by byte, and in random chunks of 1-16 bytes; the three results must
// agree, and the whole one is returned.
ProviderResponse fed_every_way(StreamFormat format, const std::string& bytes) {
  StreamUsage whole(format);
  whole.feed(bytes);
  StreamUsage single(format);
  for (char c : bytes) single.feed(std::string_view(&c, 1));
  StreamUsage random(format);
  std::mt19937 rng(7);
  for (std::size_t at = 0; at < bytes.size();) {
    const std::size_t n = std::min<std::size_t>(bytes.size() - at, 1 + rng() % 16);
    random.feed(std::string_view(bytes).substr(at, n));
    at += n;
  }
  const ProviderResponse a = whole.result(), b = single.result(), c = random.result();
  for (const ProviderResponse* other : {&b, &c}) {
    EXPECT_EQ(other->has_usage, a.has_usage);
    EXPECT_EQ(other->usage.input_tokens, a.usage.input_tokens);
    EXPECT_EQ(other->usage.output_tokens, a.usage.output_tokens);
    EXPECT_EQ(other->usage.total_tokens, a.usage.total_tokens);
    EXPECT_EQ(other->usage.cached_input_tokens, a.usage.cached_input_tokens);
    EXPECT_EQ(other->usage.reasoning_tokens, a.usage.reasoning_tokens);
    EXPECT_EQ(other->model, a.model);
    EXPECT_EQ(other->id, a.id);
  }
  return a;
}

// Ollama's docs/api.md, "Generate a chat completion", response of a request with "stream": false.
TEST(Ollama, ChatResponse) {
  const ProviderResponse r = extract_ollama(R"({
    "model": "llama3.2", "created_at": "2023-12-12T14:13:43.416799Z",
    "message": {"role": "assistant", "content": "Hello! How are you today?"},
    "done": true, "total_duration": 5191566416, "load_duration": 2154458,
    "prompt_eval_count": 26, "prompt_eval_duration": 383809000,
    "eval_count": 298, "eval_duration": 4799921000})");
  ASSERT_TRUE(r.has_usage) << r.error;
  EXPECT_EQ(r.usage.input_tokens, 26);
  EXPECT_EQ(r.usage.output_tokens, 298);
  EXPECT_EQ(r.usage.total_tokens, std::nullopt);  // Ollama sends none
  EXPECT_EQ(r.model, "llama3.2");
  EXPECT_EQ(r.id, "");
  EXPECT_EQ(r.error, "");
}

// "Generate a completion" (/api/generate): the same counts beside `response` and `context`.
TEST(Ollama, GenerateResponseAndWhatIsNotAFinalObject) {
  const ProviderResponse r = extract_ollama(R"({"model":"llama3.2","created_at":"2023-08-04T19:22:45.499127Z",
    "response":"The sky is blue because it is the color of the sky.","done":true,"context":[1,2,3],
    "total_duration":5043500667,"load_duration":5025959,"prompt_eval_count":26,
    "prompt_eval_duration":325953000,"eval_count":290,"eval_duration":4709213000})");
  ASSERT_TRUE(r.has_usage) << r.error;
  EXPECT_EQ(r.usage.input_tokens, 26);
  EXPECT_EQ(r.usage.output_tokens, 290);

  const ProviderResponse partial = extract_ollama(
      R"({"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","response":"The","done":false})");
  EXPECT_FALSE(partial.has_usage);
  EXPECT_EQ(partial.error, "not a final object (done is not true)");
  EXPECT_EQ(partial.model, "llama3.2");
  const ProviderResponse error = extract_ollama(R"({"error":"model 'nope' not found"})");
  EXPECT_FALSE(error.has_usage);
  EXPECT_EQ(error.error, "ollama error: model 'nope' not found");
  EXPECT_EQ(extract_ollama(R"({"model":"m","done":true})").error, "no usage counts (prompt_eval_count, eval_count)");
  EXPECT_EQ(extract_ollama("{nope").error, "malformed JSON");
  // A prompt served whole from Ollama's cache comes without prompt_eval_count: 0 input.
  const ProviderResponse cached = extract_ollama(R"({"model":"m","done":true,"eval_count":5})");
  ASSERT_TRUE(cached.has_usage);
  EXPECT_EQ(cached.usage.input_tokens, 0);
  EXPECT_EQ(cached.usage.output_tokens, 5);
}

// A chat stream: one JSON object a line, the counts in the final one.
TEST(Ollama, NdjsonStream) {
  const std::string stream =
      "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.385406455-07:00\","
      "\"message\":{\"role\":\"assistant\",\"content\":\"The\",\"images\":null},\"done\":false}\n"
      "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.4Z\","
      "\"message\":{\"role\":\"assistant\",\"content\":\" sky\"},\"done\":false}\n"
      "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T19:22:45.499127Z\",\"message\":{\"role\":\"assistant\","
      "\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\",\"total_duration\":4883583458,"
      "\"load_duration\":1334875,\"prompt_eval_count\":26,\"prompt_eval_duration\":342546000,"
      "\"eval_count\":282,\"eval_duration\":4535599000}\n";
  StreamUsage before_end(StreamFormat::kOllamaNdjson);
  before_end.feed(stream.substr(0, stream.find("\"done\":true")));
  EXPECT_FALSE(before_end.result().has_usage);
  const ProviderResponse r = fed_every_way(StreamFormat::kOllamaNdjson, stream);
  ASSERT_TRUE(r.has_usage) << r.error;
  EXPECT_EQ(r.usage.input_tokens, 26);
  EXPECT_EQ(r.usage.output_tokens, 282);
  EXPECT_EQ(r.model, "llama3.2");
}

// Bedrock's Converse response (API reference, Converse, "Response Syntax"); inputTokens there
// excludes the prompt cache's reads and writes.
TEST(BedrockConverse, UsageWithAndWithoutThePromptCache) {
  const ProviderResponse plain = extract_bedrock_converse(R"({
    "output": {"message": {"role": "assistant", "content": [{"text": "Hello there."}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 30, "outputTokens": 628, "totalTokens": 658},
    "metrics": {"latencyMs": 1275}})");
  ASSERT_TRUE(plain.has_usage) << plain.error;
  EXPECT_EQ(plain.usage.input_tokens, 30);
  EXPECT_EQ(plain.usage.output_tokens, 628);
  EXPECT_EQ(plain.usage.total_tokens, 658);
  EXPECT_EQ(plain.usage.cached_input_tokens, 0);
  EXPECT_EQ(plain.model, "");  // in the request's URL, not the body

  const ProviderResponse cached = extract_bedrock_converse(R"({
    "output": {"message": {"role": "assistant", "content": [{"text": "..."}]}}, "stopReason": "end_turn",
    "usage": {"inputTokens": 8, "outputTokens": 200, "totalTokens": 2264,
              "cacheReadInputTokens": 2056, "cacheWriteInputTokens": 0}, "metrics": {"latencyMs": 812}})");
  ASSERT_TRUE(cached.has_usage);
  EXPECT_EQ(cached.usage.input_tokens, 2064);  // every prompt token: 8 fresh + 2,056 read
  EXPECT_EQ(cached.usage.cached_input_tokens, 2056);
  EXPECT_EQ(cached.usage.cache_creation_input_tokens, 0);
  EXPECT_EQ(cached.usage.total_tokens, 2264);
  const ProviderResponse written = extract_bedrock_converse(
      R"({"usage":{"inputTokens":12,"outputTokens":3,"totalTokens":1039,"cacheWriteInputTokens":1024}})");
  EXPECT_EQ(written.usage.input_tokens, 1036);
  EXPECT_EQ(written.usage.cache_creation_input_tokens, 1024);
  EXPECT_EQ(extract_bedrock_converse(R"({"output":{}})").error, "no usage object");
}

// The Responses API's streaming events (API reference, "Responses streaming events").
TEST(Streaming, OpenAiResponsesCompletedEvent) {
  const std::string stream =
      "event: response.created\n"
      "data: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_67c9fdcecf488190\","
      "\"object\":\"response\",\"created_at\":1741290958,\"status\":\"in_progress\",\"model\":\"gpt-4.1-2025-04-14\","
      "\"output\":[],\"usage\":null}}\n\n"
      "event: response.output_text.delta\n"
      "data: {\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\",\"output_index\":0,"
      "\"content_index\":0,\"delta\":\"Hi\",\"sequence_number\":4}\n\n"
      "event: response.completed\n"
      "data: {\"type\":\"response.completed\",\"sequence_number\":10,\"response\":{\"id\":\"resp_67c9fdcecf488190\","
      "\"object\":\"response\",\"status\":\"completed\",\"model\":\"gpt-4.1-2025-04-14\",\"output\":[{\"type\":"
      "\"message\",\"content\":[{\"type\":\"output_text\",\"text\":\"Hi there\"}]}],\"usage\":{\"input_tokens\":37,"
      "\"input_tokens_details\":{\"cached_tokens\":5},\"output_tokens\":11,"
      "\"output_tokens_details\":{\"reasoning_tokens\":2},\"total_tokens\":48}}}\n\n";
  StreamUsage started(StreamFormat::kOpenAiResponses);
  started.feed(stream.substr(0, stream.find("event: response.completed")));
  EXPECT_FALSE(started.result().has_usage);
  EXPECT_EQ(started.result().id, "resp_67c9fdcecf488190");
  const ProviderResponse r = fed_every_way(StreamFormat::kOpenAiResponses, stream);
  ASSERT_TRUE(r.has_usage) << r.error;
  EXPECT_EQ(r.usage.input_tokens, 37);
  EXPECT_EQ(r.usage.output_tokens, 11);
  EXPECT_EQ(r.usage.total_tokens, 48);
  EXPECT_EQ(r.usage.cached_input_tokens, 5);
  EXPECT_EQ(r.usage.reasoning_tokens, 2);
  EXPECT_EQ(r.model, "gpt-4.1-2025-04-14");
  EXPECT_EQ(r.id, "resp_67c9fdcecf488190");
}

// streamGenerateContent?alt=sse: each chunk's usageMetadata is the running total.
TEST(Streaming, GeminiSseLastUsageMetadataWins) {
  const std::string stream =
      "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"The\"}],\"role\": \"model\"}}],"
      "\"usageMetadata\": {\"promptTokenCount\": 8,\"totalTokenCount\": 8},"
      "\"modelVersion\": \"gemini-2.0-flash\",\"responseId\": \"mAitaLmBEqSOz7IPqrm5wAg\"}\r\n\r\n"
      "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" sky is blue\"}],\"role\": \"model\"},"
      "\"finishReason\": \"STOP\"}],\"usageMetadata\": {\"promptTokenCount\": 8,\"candidatesTokenCount\": 120,"
      "\"thoughtsTokenCount\": 30,\"cachedContentTokenCount\": 4,\"totalTokenCount\": 158},"
      "\"modelVersion\": \"gemini-2.0-flash\",\"responseId\": \"mAitaLmBEqSOz7IPqrm5wAg\"}\r\n\r\n";
  const ProviderResponse r = fed_every_way(StreamFormat::kGeminiSse, stream);
  ASSERT_TRUE(r.has_usage) << r.error;
  EXPECT_EQ(r.usage.input_tokens, 8);
  EXPECT_EQ(r.usage.output_tokens, 150);  // candidates + thoughts
  EXPECT_EQ(r.usage.reasoning_tokens, 30);
  EXPECT_EQ(r.usage.cached_input_tokens, 4);
  EXPECT_EQ(r.usage.total_tokens, 158);
  EXPECT_EQ(r.model, "gemini-2.0-flash");
  EXPECT_EQ(r.id, "mAitaLmBEqSOz7IPqrm5wAg");
}

// DeepSeek (api-docs.deepseek.com, context caching): prompt_cache_hit_tokens +
// prompt_cache_miss_tokens = prompt_tokens.
TEST(OpenAiCompatible, DeepSeekCacheHitTokens) {
  const ProviderResponse r = extract_openai_chat(R"({"id":"930c60df-bf64-41c9-a88e-3ec75f81e00e",
    "object":"chat.completion","created":1705651092,"model":"deepseek-chat",
    "choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"finish_reason":"stop"}],
    "usage":{"prompt_tokens":1000,"completion_tokens":10,"total_tokens":1010,
             "prompt_cache_hit_tokens":768,"prompt_cache_miss_tokens":232}})");
  ASSERT_TRUE(r.has_usage);
  EXPECT_EQ(r.usage.input_tokens, 1000);
  EXPECT_EQ(r.usage.cached_input_tokens, 768);
  EXPECT_EQ(r.model, "deepseek-chat");
}

// llama.cpp's server: prompt_tokens is the whole prompt; timings.cache_n its reused part. Newer
// builds also send prompt_tokens_details.cached_tokens, which wins.
TEST(OpenAiCompatible, LlamaCppTimingsCacheN) {
  const ProviderResponse old_build = extract_openai_chat(R"({"choices":[{"finish_reason":"stop","index":0,
    "message":{"role":"assistant","content":"Hi"}}],"created":1733000000,"model":"gpt-3.5-turbo",
    "object":"chat.completion","usage":{"completion_tokens":10,"prompt_tokens":120,"total_tokens":130},
    "id":"chatcmpl-Xy1","timings":{"cache_n":96,"prompt_n":24,"prompt_ms":30.5,"predicted_n":10,
    "predicted_ms":200.1}})");
  ASSERT_TRUE(old_build.has_usage);
  EXPECT_EQ(old_build.usage.input_tokens, 120);
  EXPECT_EQ(old_build.usage.cached_input_tokens, 96);
  const ProviderResponse new_build = extract_openai_chat(R"({"model":"m","usage":{"completion_tokens":10,
    "prompt_tokens":120,"total_tokens":130,"prompt_tokens_details":{"cached_tokens":90}},
    "timings":{"cache_n":96,"prompt_n":24}})");
  EXPECT_EQ(new_build.usage.cached_input_tokens, 90);
  // The final chunk of a stream carries the same timings.
  StreamUsage stream(StreamFormat::kOpenAiChat);
  stream.feed("data: {\"choices\":[],\"model\":\"m\",\"object\":\"chat.completion.chunk\",\"usage\":"
              "{\"completion_tokens\":10,\"prompt_tokens\":120,\"total_tokens\":130},"
              "\"timings\":{\"cache_n\":96,\"prompt_n\":24}}\n\ndata: [DONE]\n\n");
  EXPECT_EQ(stream.result().usage.cached_input_tokens, 96);
}

}  // namespace
}  // namespace opsmeter
