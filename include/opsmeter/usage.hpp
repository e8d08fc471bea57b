// opsmeter/usage.hpp: token usage from provider responses, and an explicit estimate.
//
// Each extract_* function takes a provider's raw JSON response body and returns typed usage and
// response facts. None of them throws: a body that is not JSON, has no `usage`, or has
// `usage: null` gives `has_usage == false` and an explanation in `error`. Streaming responses
// go through `StreamUsage`, fed the server-sent-event bytes as they arrive.
//
// The counting rule, the same for every provider: `input_tokens` is every prompt token the
// provider processed, cached or not; `output_tokens` is every generated token, reasoning
// included. Cache and reasoning counts are reported separately and sent as metadata
// (`cachedInputTokens`, `cacheCreationInputTokens`, `reasoningTokens`):
//   - OpenAI: prompt_tokens already includes prompt_tokens_details.cached_tokens, and
//     completion_tokens includes completion_tokens_details.reasoning_tokens; taken as given.
//   - Anthropic: input_tokens excludes cache tokens, so input = input_tokens +
//     cache_creation_input_tokens + cache_read_input_tokens.
//   - Gemini: promptTokenCount includes cachedContentTokenCount; output = candidatesTokenCount
//     + thoughtsTokenCount.
//   - Amazon Bedrock Converse: inputTokens excludes the cache, so input = inputTokens +
//     cacheReadInputTokens + cacheWriteInputTokens.
//   - Ollama (native API): input = prompt_eval_count, output = eval_count, from the final
//     object (`done: true`); there is no total.
//   - OpenAI-compatible servers: DeepSeek's prompt_cache_hit_tokens and llama.cpp's
//     timings.cache_n are read as cached tokens where prompt_tokens_details is absent (both
//     count them inside prompt_tokens).
// `total_tokens` is the provider's total when it sends one.
//
// Thread-safety: the functions are pure; a StreamUsage object belongs to one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "opsmeter/export.hpp"
#include "opsmeter/record.hpp"

namespace opsmeter {

struct Usage {
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::optional<std::int64_t> total_tokens;     // provider's total, if given
  std::int64_t cached_input_tokens = 0;         // read from a prompt cache (part of input)
  std::int64_t cache_creation_input_tokens = 0; // written to a prompt cache (part of input)
  std::int64_t reasoning_tokens = 0;            // thinking tokens (part of output)
  TokenSource source = TokenSource::kProvider;
};

// What a provider response says about one call.
struct ProviderResponse {
  bool has_usage = false;
  Usage usage;
  std::string model;  // the model that answered; may differ from the one requested
  std::string id;     // the provider's response id (goes to metadata.providerRequestId)
  std::string error;  // why has_usage is false, e.g. "malformed JSON" or "no usage object"
};

OPSMETER_API ProviderResponse extract_openai_chat(std::string_view body) noexcept;
OPSMETER_API ProviderResponse extract_openai_responses(std::string_view body) noexcept;
OPSMETER_API ProviderResponse extract_anthropic(std::string_view body) noexcept;
OPSMETER_API ProviderResponse extract_gemini(std::string_view body) noexcept;
// Ollama's /api/chat and /api/generate: the response of a call with "stream": false, or the
// final (done: true) object of a stream.
OPSMETER_API ProviderResponse extract_ollama(std::string_view body) noexcept;
// Amazon Bedrock's Converse API (POST /model/{modelId}/converse).
OPSMETER_API ProviderResponse extract_bedrock_converse(std::string_view body) noexcept;

enum class StreamFormat : std::uint8_t {
  kOpenAiChat,         // chunks of chat.completion.chunk; usage in the final chunk when the
                       // request set stream_options.include_usage = true
  kAnthropicMessages,  // message_start carries input usage, message_delta the output count
  kOpenAiResponses,    // the Responses API's events; usage in response.completed (or
                       // response.incomplete / response.failed)
  kGeminiSse,          // streamGenerateContent?alt=sse; each chunk's usageMetadata is the
                       // running total
  kOllamaNdjson        // Ollama's /api/chat and /api/generate streams: one JSON object a line
                       // (no SSE framing); the counts are in the final done: true object
};

// Accumulates usage from a streamed response (server-sent events, or Ollama's NDJSON). Feed it
// the raw bytes in any split; lines are reassembled internally.
class OPSMETER_API StreamUsage {
 public:
  explicit StreamUsage(StreamFormat format);
  ~StreamUsage();
  StreamUsage(StreamUsage&&) noexcept;
  StreamUsage& operator=(StreamUsage&&) noexcept;

  void feed(std::string_view bytes) noexcept;
  // The usage seen so far; has_usage stays false until the stream reported any.
  ProviderResponse result() const noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The documented estimate for calls whose provider reports no usage: one token per four bytes
// of UTF-8 text, rounded up (the usual rule of thumb for English with BPE tokenizers). The
// result is marked TokenSource::kEstimated.
OPSMETER_API std::int64_t estimate_tokens(std::string_view text) noexcept;
OPSMETER_API Usage estimate_usage(std::string_view prompt, std::string_view completion) noexcept;

}  // namespace opsmeter
