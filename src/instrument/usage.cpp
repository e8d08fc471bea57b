// Provider usage extraction from whole response bodies, and the estimate (streams are in
// stream_usage.cpp, the JSON readers in usage_json.cpp).
#include "opsmeter/usage.hpp"

#include "base/saturate.hpp"
#include "instrument/usage_json.hpp"

namespace opsmeter {
namespace {

using namespace detail;

template <typename Reader>
ProviderResponse extract(std::string_view body, const char* usage_key, Reader read) noexcept {
  ProviderResponse out;
  try {
    const json doc = parse(body, out);
    if (doc.is_discarded()) return out;
    out.model = text(doc, "model");
    out.id = text(doc, "id");
    if (const json* usage = usage_object(doc, usage_key, out)) {
      read(doc, *usage, out);
      out.has_usage = true;
    }
  } catch (...) {
    out.has_usage = false;
    out.error = "out of memory";
  }
  return out;
}

}  // namespace

ProviderResponse extract_openai_chat(std::string_view body) noexcept {
  return extract(body, "usage", [](const json& doc, const json& usage, ProviderResponse& out) {
    read_openai_chat_usage(usage, member(doc, "timings"), out.usage);
  });
}

ProviderResponse extract_openai_responses(std::string_view body) noexcept {
  return extract(body, "usage", [](const json&, const json& usage, ProviderResponse& out) {
    read_openai_responses_usage(usage, out.usage);
  });
}

ProviderResponse extract_anthropic(std::string_view body) noexcept {
  return extract(body, "usage", [](const json&, const json& usage, ProviderResponse& out) {
    read_anthropic_input(usage, out.usage);
    out.usage.output_tokens = count(usage, "output_tokens");
  });
}

ProviderResponse extract_gemini(std::string_view body) noexcept {
  return extract(body, "usageMetadata", [](const json& doc, const json& usage, ProviderResponse& o) {
    read_gemini_usage(usage, o.usage);
    o.model = text(doc, "modelVersion");
    o.id = text(doc, "responseId");
  });
}

ProviderResponse extract_ollama(std::string_view body) noexcept {
  ProviderResponse out;
  try {
    const json doc = parse(body, out);
    if (doc.is_discarded()) return out;
    out.has_usage = read_ollama(doc, out);
    if (!out.has_usage) out.model = text(doc, "model");
  } catch (...) {
    out.has_usage = false;
    out.error = "out of memory";
  }
  return out;
}

// Amazon Bedrock Converse (API reference, TokenUsage): inputTokens counts the input that was
// neither read from nor written to the prompt cache; cacheReadInputTokens and
// cacheWriteInputTokens are reported beside it. So input = inputTokens + cacheReadInputTokens
// + cacheWriteInputTokens (every prompt token processed), and totalTokens is taken as sent.
// The response names neither the model (it is in the request's URL) nor an id.
ProviderResponse extract_bedrock_converse(std::string_view body) noexcept {
  return extract(body, "usage", [](const json&, const json& usage, ProviderResponse& out) {
    Usage& u = out.usage;
    u.cached_input_tokens = count(usage, "cacheReadInputTokens");
    u.cache_creation_input_tokens = count(usage, "cacheWriteInputTokens");
    u.input_tokens = detail::add_saturated(
        count(usage, "inputTokens"), detail::add_saturated(u.cached_input_tokens, u.cache_creation_input_tokens));
    u.output_tokens = count(usage, "outputTokens");
    u.total_tokens = optional_count(usage, "totalTokens");
  });
}

// ---- estimates ---------------------------------------------------------------------------------

std::int64_t estimate_tokens(std::string_view text_bytes) noexcept {
  return static_cast<std::int64_t>((text_bytes.size() + 3) / 4);
}

Usage estimate_usage(std::string_view prompt, std::string_view completion) noexcept {
  Usage u;
  u.input_tokens = estimate_tokens(prompt);
  u.output_tokens = estimate_tokens(completion);
  u.source = TokenSource::kEstimated;
  return u;
}

}  // namespace opsmeter
