// The JSON side of usage extraction (see usage_json.hpp).
#include "instrument/usage_json.hpp"

#include <vector>

#include "base/saturate.hpp"

namespace opsmeter::detail {


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

}  // namespace opsmeter::detail
