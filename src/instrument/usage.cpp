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
constexpr std::string_view kWantedMembers[] = {"id",   "model",        "usage",      "usageMetadata",
                                               "type", "modelVersion", "responseId", "message"};

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

void read_openai_chat_usage(const json& usage, Usage& u) {
  u.input_tokens = count(usage, "prompt_tokens");
  u.output_tokens = count(usage, "completion_tokens");
  u.total_tokens = optional_count(usage, "total_tokens");
  u.cached_input_tokens = count(member(usage, "prompt_tokens_details"), "cached_tokens");
  u.reasoning_tokens = count(member(usage, "completion_tokens_details"), "reasoning_tokens");
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
  return extract(body, "usage", [](const json&, const json& usage, ProviderResponse& out) {
    read_openai_chat_usage(usage, out.usage);
  });
}

ProviderResponse extract_openai_responses(std::string_view body) noexcept {
  return extract(body, "usage", [](const json&, const json& usage, ProviderResponse& out) {
    out.usage.input_tokens = count(usage, "input_tokens");
    out.usage.output_tokens = count(usage, "output_tokens");
    out.usage.total_tokens = optional_count(usage, "total_tokens");
    out.usage.cached_input_tokens = count(member(usage, "input_tokens_details"), "cached_tokens");
    out.usage.reasoning_tokens = count(member(usage, "output_tokens_details"), "reasoning_tokens");
  });
}

ProviderResponse extract_anthropic(std::string_view body) noexcept {
  return extract(body, "usage", [](const json&, const json& usage, ProviderResponse& out) {
    read_anthropic_input(usage, out.usage);
    out.usage.output_tokens = count(usage, "output_tokens");
  });
}

ProviderResponse extract_gemini(std::string_view body) noexcept {
  ProviderResponse out =
      extract(body, "usageMetadata", [](const json& doc, const json& usage, ProviderResponse& o) {
        o.usage.input_tokens = count(usage, "promptTokenCount");
        o.usage.reasoning_tokens = count(usage, "thoughtsTokenCount");
        o.usage.output_tokens = detail::add_saturated(count(usage, "candidatesTokenCount"), o.usage.reasoning_tokens);
        o.usage.total_tokens = optional_count(usage, "totalTokenCount");
        o.usage.cached_input_tokens = count(usage, "cachedContentTokenCount");
        o.model = text(doc, "modelVersion");
        o.id = text(doc, "responseId");
      });
  return out;
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
    constexpr std::string_view kData = "data:";
    if (line.substr(0, kData.size()) != kData) return;
    std::string_view payload = line.substr(kData.size());
    while (!payload.empty() && payload.front() == ' ') payload.remove_prefix(1);
    if (payload.empty() || payload == "[DONE]") return;
    const json event = parse_wanted(payload);
    if (!event.is_object()) return;
    if (format_ == StreamFormat::kOpenAiChat) {
      on_openai(event);
    } else {
      on_anthropic(event);
    }
  }

  void on_openai(const json& chunk) {
    if (out_.model.empty()) out_.model = text(chunk, "model");
    if (out_.id.empty()) out_.id = text(chunk, "id");
    const json& usage = member(chunk, "usage");
    if (!usage.is_object()) return;
    read_openai_chat_usage(usage, out_.usage);
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
