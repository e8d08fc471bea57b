// Provider usage extraction: lenient reads of each provider's usage fields.
#include "opsmeter/usage.hpp"

#include <nlohmann/json.hpp>
#include <vector>

#include "base/saturate.hpp"

namespace opsmeter {
namespace {

using nlohmann::json;

// A non-negative integer at `object[key]`, else 0 (absent, null, negative or not a number).
std::int64_t count(const json& object, const char* key) {
  if (!object.is_object()) return 0;
  const auto it = object.find(key);
  if (it == object.end()) return 0;
  if (it->is_number_unsigned() || it->is_number_integer()) {
    const auto value = it->get<std::int64_t>();
    return value > 0 ? value : 0;
  }
  if (it->is_number_float()) {
    const double value = it->get<double>();
    return value > 0 && value < 9.2e18 ? static_cast<std::int64_t>(value) : 0;
  }
  return 0;
}

std::optional<std::int64_t> optional_count(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_number()) return std::nullopt;
  return count(object, key);
}

const json& member(const json& object, const char* key) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  const auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

std::string text(const json& object, const char* key) {
  const json& value = member(object, key);
  return value.is_string() ? value.get<std::string>() : std::string();
}

// The top-level members the readers below look at.
constexpr std::string_view kWantedMembers[] = {
    "id",         "model",   "usage", "usageMetadata", "type",              "modelVersion",
    "responseId", "message", "done",  "timings",       "prompt_eval_count", "eval_count",
    "response",   "error"};

// Builds the document like nlohmann's own DOM parser, but only the wanted top-level members:
// the generated text, choices, candidates and logprobs are lexed and dropped, never built.
// That is most of a provider body and most of the allocations (docs/benchmarks.md).
class WantedMembersOnly final : public nlohmann::json_sax<json> {
 public:
  explicit WantedMembersOnly(json& root) : root_(root) {}

  bool null() override { return value(nullptr); }
  bool boolean(bool v) override { return value(v); }
  bool number_integer(number_integer_t v) override { return value(v); }
  bool number_unsigned(number_unsigned_t v) override { return value(v); }
  bool number_float(number_float_t v, const string_t&) override { return value(v); }
  bool string(string_t& v) override { return value(v); }
  bool binary(binary_t&) override { return true; }  // never produced by JSON text
  bool start_object(std::size_t) override { return open(json::value_t::object); }
  bool start_array(std::size_t) override { return open(json::value_t::array); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

  bool key(string_t& k) override {
    if (skipped_depth_ > 0) return true;
    if (stack_.size() == 1) {
      keep_next_ = false;
      for (std::string_view wanted : kWantedMembers) keep_next_ = keep_next_ || k == wanted;
    }
    key_ = k;
    return true;
  }

 private:
  // Where the next value goes, or nullptr when it is dropped.
  json* slot() {
    if (skipped_depth_ > 0) return nullptr;
    if (stack_.empty()) return &root_;
    json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(nullptr);
      return &parent.back();
    }
    if (stack_.size() == 1 && !keep_next_) return nullptr;
    return &parent[key_];
  }

  template <typename Value>
  bool value(Value&& v) {
    if (json* target = slot()) *target = std::forward<Value>(v);
    return true;
  }

  bool open(json::value_t type) {
    json* target = slot();
    if (!target) {
      ++skipped_depth_;
      return true;
    }
    *target = json(type);
    stack_.push_back(target);  // map nodes and the current array element stay put until closed
    return true;
  }

  bool close() {
    if (skipped_depth_ > 0) {
      --skipped_depth_;
    } else if (!stack_.empty()) {
      stack_.pop_back();
    }
    return true;
  }

  json& root_;
  std::vector<json*> stack_;
  std::size_t skipped_depth_ = 0;
  bool keep_next_ = false;
  std::string key_;
};

// Parses `body`, building only kWantedMembers; a discarded value when it is not valid JSON.
json parse_wanted(std::string_view body) {
  json doc;
  WantedMembersOnly builder(doc);
  if (!json::sax_parse(body.begin(), body.end(), &builder)) doc = json::value_t::discarded;
  return doc;
}

// parse_wanted(), for a whole response: on failure fills `out.error` and returns a discarded
// value.
json parse(std::string_view body, ProviderResponse& out) {
  json doc = parse_wanted(body);
  if (doc.is_discarded()) {
    out.error = "malformed JSON";
  } else if (!doc.is_object()) {
    out.error = "response is not a JSON object";
    doc = json::value_t::discarded;
  }
  return doc;
}

// Reads `usage` into out, or explains why there is none.
const json* usage_object(const json& doc, const char* key, ProviderResponse& out) {
  const json& usage = member(doc, key);
  if (usage.is_object()) return &usage;
  out.error = usage.is_null() ? std::string("no usage object") : std::string("usage is not an object");
  return nullptr;
}

// OpenAI Chat Completions usage, and the OpenAI-compatible servers' variants of its cache
// count where prompt_tokens_details.cached_tokens is absent:
//   - DeepSeek (api-docs.deepseek.com, "Context Caching"): prompt_cache_hit_tokens and
//     prompt_cache_miss_tokens, whose sum is prompt_tokens;
//   - llama.cpp's server (tools/server): timings.cache_n, the prompt tokens reused from its KV
//     cache; its prompt_tokens is the whole prompt (n_prompt_tokens), cached part included,
//     and newer builds also send prompt_tokens_details.cached_tokens with the same count.
// In both, prompt_tokens already counts the cached tokens, so input is taken as given.
void read_openai_chat_usage(const json& usage, const json& timings, Usage& u) {
  u.input_tokens = count(usage, "prompt_tokens");
  u.output_tokens = count(usage, "completion_tokens");
  u.total_tokens = optional_count(usage, "total_tokens");
  const json& details = member(usage, "prompt_tokens_details");
  if (details.is_object() && details.contains("cached_tokens")) {
    u.cached_input_tokens = count(details, "cached_tokens");
  } else if (usage.contains("prompt_cache_hit_tokens")) {
    u.cached_input_tokens = count(usage, "prompt_cache_hit_tokens");
  } else {
    u.cached_input_tokens = count(timings, "cache_n");
  }
  u.reasoning_tokens = count(member(usage, "completion_tokens_details"), "reasoning_tokens");
}

// OpenAI Responses usage (a response object's `usage`).
void read_openai_responses_usage(const json& usage, Usage& u) {
  u.input_tokens = count(usage, "input_tokens");
  u.output_tokens = count(usage, "output_tokens");
  u.total_tokens = optional_count(usage, "total_tokens");
  u.cached_input_tokens = count(member(usage, "input_tokens_details"), "cached_tokens");
  u.reasoning_tokens = count(member(usage, "output_tokens_details"), "reasoning_tokens");
}

// Gemini usageMetadata: promptTokenCount includes cachedContentTokenCount; output is
// candidatesTokenCount + thoughtsTokenCount.
void read_gemini_usage(const json& usage, Usage& u) {
  u.input_tokens = count(usage, "promptTokenCount");
  u.reasoning_tokens = count(usage, "thoughtsTokenCount");
  u.output_tokens = detail::add_saturated(count(usage, "candidatesTokenCount"), u.reasoning_tokens);
  u.total_tokens = optional_count(usage, "totalTokenCount");
  u.cached_input_tokens = count(usage, "cachedContentTokenCount");
}

// Ollama's native API (docs/api.md, "Generate a completion" and "Generate a chat
// completion"): the final object (`done: true`) carries prompt_eval_count (the prompt tokens
// it evaluated) and eval_count (the tokens it generated); there is no total and no id. Ollama
// leaves prompt_eval_count out when it reused the whole prompt from its cache: 0 then. False
// when `doc` is not a final object with counts, with the reason in `error`.
bool read_ollama(const json& doc, ProviderResponse& out) {
  const json& done = member(doc, "done");
  if (!done.is_boolean() || !done.get<bool>()) {
    out.error = member(doc, "error").is_string() ? "ollama error: " + text(doc, "error")
                                                  : std::string("not a final object (done is not true)");
    return false;
  }
  if (!doc.contains("eval_count") && !doc.contains("prompt_eval_count")) {
    out.error = "no usage counts (prompt_eval_count, eval_count)";
    return false;
  }
  out.usage.input_tokens = count(doc, "prompt_eval_count");
  out.usage.output_tokens = count(doc, "eval_count");
  out.model = text(doc, "model");
  out.error.clear();
  return true;
}

void read_anthropic_input(const json& usage, Usage& u) {
  u.cache_creation_input_tokens = count(usage, "cache_creation_input_tokens");
  u.cached_input_tokens = count(usage, "cache_read_input_tokens");
  u.input_tokens = detail::add_saturated(
      count(usage, "input_tokens"), detail::add_saturated(u.cache_creation_input_tokens, u.cached_input_tokens));
}

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

// ---- streaming ---------------------------------------------------------------------------------

class StreamUsage::Impl {
 public:
  explicit Impl(StreamFormat format) : format_(format) {}

  void feed(std::string_view bytes) {
    pending_.append(bytes.data(), bytes.size());
    std::size_t start = 0;
    for (std::size_t nl = pending_.find('\n'); nl != std::string::npos; nl = pending_.find('\n', start)) {
      std::string_view line(pending_.data() + start, nl - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      on_line(line);
      start = nl + 1;
    }
    pending_.erase(0, start);
    if (pending_.size() > kMaxLine) pending_.clear();  // a runaway line is not usage data
  }

  ProviderResponse result() const { return out_; }

 private:
  static constexpr std::size_t kMaxLine = 1 << 20;

  void on_line(std::string_view line) {
    if (format_ == StreamFormat::kOllamaNdjson) {  // one JSON object a line, no SSE framing
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
      if (line.empty()) return;
      const json object = parse_wanted(line);
      if (object.is_object()) on_ollama(object);
      return;
    }
    constexpr std::string_view kData = "data:";
    if (line.substr(0, kData.size()) != kData) return;
    std::string_view payload = line.substr(kData.size());
    while (!payload.empty() && payload.front() == ' ') payload.remove_prefix(1);
    if (payload.empty() || payload == "[DONE]") return;
    const json event = parse_wanted(payload);
    if (!event.is_object()) return;
    switch (format_) {
      case StreamFormat::kOpenAiChat: on_openai(event); break;
      case StreamFormat::kAnthropicMessages: on_anthropic(event); break;
      case StreamFormat::kOpenAiResponses: on_openai_responses(event); break;
      case StreamFormat::kGeminiSse: on_gemini(event); break;
      case StreamFormat::kOllamaNdjson: break;
    }
  }

  void on_openai(const json& chunk) {
    if (out_.model.empty()) out_.model = text(chunk, "model");
    if (out_.id.empty()) out_.id = text(chunk, "id");
    const json& usage = member(chunk, "usage");
    if (!usage.is_object()) return;
    read_openai_chat_usage(usage, member(chunk, "timings"), out_.usage);
    got_usage();
  }

  // The Responses API's semantic events: each response.* lifecycle event carries the response
  // object; usage is set in the final one (response.completed, .incomplete or .failed).
  void on_openai_responses(const json& event) {
    const json& response = member(event, "response");
    if (!response.is_object()) return;
    note_names(response, "id", "model");
    take_usage(member(response, "usage"), read_openai_responses_usage);
  }

  // streamGenerateContent?alt=sse: each event is a GenerateContentResponse; its usageMetadata
  // is the running total, so the latest one is the call's.
  void on_gemini(const json& chunk) {
    note_names(chunk, "responseId", "modelVersion");
    take_usage(member(chunk, "usageMetadata"), read_gemini_usage);
  }

  // The latest non-empty id and model an event names.
  void note_names(const json& object, const char* id_key, const char* model_key) {
    if (std::string id = text(object, id_key); !id.empty()) out_.id = std::move(id);
    if (std::string model = text(object, model_key); !model.empty()) out_.model = std::move(model);
  }

  template <typename Reader>
  void take_usage(const json& usage, Reader read) {
    if (!usage.is_object()) return;
    read(usage, out_.usage);
    got_usage();
  }

  // Ollama's streams: objects with done: false, then the final one with the counts.
  void on_ollama(const json& object) {
    if (out_.model.empty()) out_.model = text(object, "model");
    ProviderResponse final_object;
    if (!read_ollama(object, final_object)) {
      if (member(object, "error").is_string()) out_.error = final_object.error;
      return;
    }
    out_.usage = final_object.usage;
    if (!final_object.model.empty()) out_.model = final_object.model;
    got_usage();
  }

  void got_usage() {
    out_.has_usage = true;
    out_.error.clear();
  }

  void on_anthropic(const json& event) {
    const std::string type = text(event, "type");
    if (type == "message_start") {
      const json& message = member(event, "message");
      out_.model = text(message, "model");
      out_.id = text(message, "id");
      const json& usage = member(message, "usage");
      if (!usage.is_object()) return;
      read_anthropic_input(usage, out_.usage);
      out_.usage.output_tokens = count(usage, "output_tokens");
      out_.has_usage = true;
      out_.error.clear();
    } else if (type == "message_delta") {
      const json& usage = member(event, "usage");
      if (!usage.is_object()) return;
      // message_delta's output_tokens is cumulative for the message.
      out_.usage.output_tokens = count(usage, "output_tokens");
      if (usage.contains("input_tokens")) read_anthropic_input(usage, out_.usage);
      out_.has_usage = true;
      out_.error.clear();
    }
  }

  StreamFormat format_;
  std::string pending_;
  ProviderResponse out_{false, {}, {}, {}, "no usage in stream yet"};
};

StreamUsage::StreamUsage(StreamFormat format) {
  try {
    impl_ = std::make_unique<Impl>(format);
  } catch (...) {
  }
}
StreamUsage::~StreamUsage() = default;
StreamUsage::StreamUsage(StreamUsage&&) noexcept = default;
StreamUsage& StreamUsage::operator=(StreamUsage&&) noexcept = default;

void StreamUsage::feed(std::string_view bytes) noexcept {
  if (!impl_) return;
  try {
    impl_->feed(bytes);
  } catch (...) {
  }
}

ProviderResponse StreamUsage::result() const noexcept {
  try {
    if (impl_) return impl_->result();
  } catch (...) {
  }
  ProviderResponse none;
  return none;
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
