// StreamUsage: usage from streamed responses, fed in any split (see opsmeter/usage.hpp).
#include <string>

#include "instrument/usage_json.hpp"
#include "opsmeter/usage.hpp"

namespace opsmeter {

using namespace detail;


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

}  // namespace opsmeter
