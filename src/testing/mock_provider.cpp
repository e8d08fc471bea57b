// The mock server's fake LLM provider, so that examples and tests make real provider-shaped
// HTTP calls: OpenAI Chat Completions (and llama.cpp's server's variant of it), the OpenAI
// Responses API and Ollama's native chat, each with its streaming form. Token counts are
// deterministic (about four bytes a token). Request headers X-Mock-Delay-Ms and X-Mock-Status
// add a delay or an error to any of them.
#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "testing/mock_server_impl.hpp"

namespace opsmeter::testing {

using namespace mock;

namespace {

// The prompt's text: the messages' string contents (Chat Completions, Ollama), or the
// Responses API's `input` (a string, or messages).
std::string prompt_of(const json& request) {
  std::string prompt;
  const auto add_messages = [&](const json& messages) {
    if (!messages.is_array()) return;
    for (const json& m : messages) {
      if (m.is_object() && m.contains("content") && m["content"].is_string()) prompt += m["content"].get<std::string>();
    }
  };
  if (request.contains("messages")) add_messages(request["messages"]);
  if (request.contains("input")) {
    if (request["input"].is_string()) prompt += request["input"].get<std::string>();
    add_messages(request["input"]);
  }
  return prompt;
}

std::int64_t prompt_tokens_of(const std::string& prompt) { return static_cast<std::int64_t>(prompt.size() / 4 + 8); }
std::int64_t reply_tokens_of(const std::string& reply) { return static_cast<std::int64_t>(reply.size() / 4 + 1); }

// The fake model's answer, the same in every API's shape.
std::string reply_to(const std::string& prompt) { return "Mock answer to: " + prompt.substr(0, 48); }

void bad_request(httplib::Response& res, const char* message) {
  res.status = 400;
  res.set_content(json({{"error", {{"message", message}, {"type", "invalid_request_error"}}}}).dump(), kJson);
}

// Server-sent events: `event:` lines when the API names its events (Responses), `data:` only
// otherwise (Chat Completions).
void add_event(std::string& out, const json& data, const char* name = nullptr) {
  if (name != nullptr) out += std::string("event: ") + name + "\n";
  out += "data: " + data.dump() + "\n\n";
}

}  // namespace

// The common start of every provider route: counts the call, applies the request's delay and
// error headers. False when the answer is already made.
std::optional<MockIngestServer::Impl::ProviderCall> MockIngestServer::Impl::provider_call(
    const httplib::Request& req, httplib::Response& res, const char* required, bool (*valid)(const json&)) {
  ProviderCall call;
  {
    std::lock_guard<std::mutex> lock(mu_);
    call.n = ++provider_calls_;
  }
  const int delay_ms = std::atoi(req.get_header_value("X-Mock-Delay-Ms").c_str());
  if (delay_ms > 0) hold(std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms));
  const int status = std::atoi(req.get_header_value("X-Mock-Status").c_str());
  if (status >= 400) {
    res.status = status;
    res.set_content(R"({"error":{"message":"mock provider error","type":"server_error"}})", kJson);
    return std::nullopt;
  }
  call.request = json::parse(req.body, nullptr, false);
  if (!call.request.is_object()) {
    bad_request(res, "the body must be a JSON object");
    return std::nullopt;
  }
  const auto field = call.request.find(required);
  if (field == call.request.end() || !valid(*field)) {
    bad_request(res, (std::string(required) + " is required").c_str());
    return std::nullopt;
  }
  call.prompt = prompt_of(call.request);
  call.reply = reply_to(call.prompt);
  return call;
}

// POST /v1/chat/completions. A request with llama.cpp's `cache_prompt: true` is answered as
// llama.cpp's server answers it (tools/server in llama.cpp): usage without
// prompt_tokens_details, and `timings` whose `cache_n` counts the prompt tokens reused from the
// previous request (included in prompt_tokens). The same prompt twice in a row reuses all but
// its last token.
void MockIngestServer::Impl::chat(const httplib::Request& req, httplib::Response& res) {
  const std::optional<ProviderCall> call = provider_call(req, res, "messages", [](const json& v) { return v.is_array(); });
  if (!call) return;
  const auto& [n, request, prompt, reply] = *call;
  const std::string model = request.value("model", std::string("gpt-4o-mini"));
  const std::int64_t prompt_tokens = prompt_tokens_of(prompt);
  const std::int64_t completion_tokens = reply_tokens_of(reply);
  const bool llama_cpp = request.value("cache_prompt", false);
  json usage = {{"prompt_tokens", prompt_tokens},
                {"completion_tokens", completion_tokens},
                {"total_tokens", prompt_tokens + completion_tokens}};
  json timings;
  std::string answered_model = model + "-2024-07-18";
  if (llama_cpp) {
    std::int64_t cache_n = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (last_cached_prompt_ == prompt) cache_n = prompt_tokens - 1;
      last_cached_prompt_ = prompt;
    }
    timings = {{"cache_n", cache_n},
               {"prompt_n", prompt_tokens - cache_n},
               {"prompt_ms", 12.5},
               {"prompt_per_token_ms", 0.8},
               {"prompt_per_second", 1250.0},
               {"predicted_n", completion_tokens},
               {"predicted_ms", 95.0},
               {"predicted_per_token_ms", 9.5},
               {"predicted_per_second", 105.0}};
    answered_model = model;
  } else {
    usage["prompt_tokens_details"] = {{"cached_tokens", 0}};
    usage["completion_tokens_details"] = {{"reasoning_tokens", 0}};
  }
  const std::string id = "chatcmpl-mock" + std::to_string(n);
  if (request.value("stream", false)) {
    const bool include_usage = request.contains("stream_options") && request["stream_options"].is_object() &&
                               request["stream_options"].value("include_usage", false);
    res.set_content(stream_body(id, answered_model, reply, include_usage ? usage : json()), "text/event-stream");
    return;
  }
  json body = {{"id", id},
               {"object", "chat.completion"},
               {"created", 1733000000},
               {"model", answered_model},
               {"choices",
                json::array({{{"index", 0},
                              {"message", {{"role", "assistant"}, {"content", reply}}},
                              {"finish_reason", "stop"}}})},
               {"usage", usage},
               {"system_fingerprint", llama_cpp ? "b6000-mock" : "fp_mock"}};
  if (llama_cpp) body["timings"] = timings;
  res.set_content(body.dump(), kJson);
}

std::string MockIngestServer::Impl::stream_body(const std::string& id, const std::string& model, const std::string& reply,
                                                const json& usage) {
  std::string out;
  const auto event = [&](const json& choices, const json& usage_field) {
    json chunk = {{"id", id}, {"object", "chat.completion.chunk"}, {"created", 1733000000},
                  {"model", model}, {"choices", choices}};
    if (!usage.is_null()) chunk["usage"] = usage_field;
    add_event(out, chunk);
  };
  event(json::array({{{"index", 0}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"finish_reason", nullptr}}}),
        nullptr);
  for (std::size_t at = 0; at < reply.size(); at += 16) {
    event(json::array({{{"index", 0}, {"delta", {{"content", reply.substr(at, 16)}}}, {"finish_reason", nullptr}}}),
          nullptr);
  }
  event(json::array({{{"index", 0}, {"delta", json::object()}, {"finish_reason", "stop"}}}), nullptr);
  if (!usage.is_null()) event(json::array(), usage);
  out += "data: [DONE]\n\n";
  return out;
}

// POST /v1/responses: the OpenAI Responses API. With `stream: true`, its named events
// (response.created, response.output_text.delta, ..., response.completed with the usage).
void MockIngestServer::Impl::responses(const httplib::Request& req, httplib::Response& res) {
  const std::optional<ProviderCall> call = provider_call(req, res, "input", [](const json&) { return true; });
  if (!call) return;
  const auto& [n, request, prompt, reply] = *call;
  const std::string model = request.value("model", std::string("gpt-4o-mini")) + "-2024-07-18";
  const std::int64_t input_tokens = prompt_tokens_of(prompt);
  const std::int64_t output_tokens = reply_tokens_of(reply);
  const std::string id = "resp_mock" + std::to_string(n);
  const std::string item_id = "msg_mock" + std::to_string(n);
  const json message = {{"id", item_id},
                        {"type", "message"},
                        {"status", "completed"},
                        {"role", "assistant"},
                        {"content", json::array({{{"type", "output_text"}, {"text", reply}, {"annotations", json::array()}}})}};
  const json usage = {{"input_tokens", input_tokens},
                      {"input_tokens_details", {{"cached_tokens", 0}}},
                      {"output_tokens", output_tokens},
                      {"output_tokens_details", {{"reasoning_tokens", 0}}},
                      {"total_tokens", input_tokens + output_tokens}};
  json done = {{"id", id},        {"object", "response"},           {"created_at", 1733000000},
               {"status", "completed"}, {"model", model},           {"output", json::array({message})},
               {"usage", usage}};
  if (!request.value("stream", false)) {
    res.set_content(done.dump(), kJson);
    return;
  }
  json started = done;
  started["status"] = "in_progress";
  started["output"] = json::array();
  started["usage"] = nullptr;
  std::string out;
  int seq = 0;
  add_event(out, {{"type", "response.created"}, {"sequence_number", seq++}, {"response", started}}, "response.created");
  add_event(out, {{"type", "response.in_progress"}, {"sequence_number", seq++}, {"response", started}},
            "response.in_progress");
  for (std::size_t at = 0; at < reply.size(); at += 16) {
    add_event(out,
              {{"type", "response.output_text.delta"}, {"sequence_number", seq++}, {"item_id", item_id},
               {"output_index", 0}, {"content_index", 0}, {"delta", reply.substr(at, 16)}},
              "response.output_text.delta");
  }
  add_event(out,
            {{"type", "response.output_text.done"}, {"sequence_number", seq++}, {"item_id", item_id},
             {"output_index", 0}, {"content_index", 0}, {"text", reply}},
            "response.output_text.done");
  add_event(out, {{"type", "response.completed"}, {"sequence_number", seq++}, {"response", done}}, "response.completed");
  res.set_content(out, "text/event-stream");
}

// POST /api/chat: Ollama's native chat. Ollama streams by default (`stream` absent or true):
// one JSON object a line (application/x-ndjson), the counts on the final `done: true` object.
void MockIngestServer::Impl::ollama_chat(const httplib::Request& req, httplib::Response& res) {
  const std::optional<ProviderCall> call = provider_call(req, res, "model", [](const json& v) { return v.is_string(); });
  if (!call) return;
  const auto& [n, request, prompt, reply] = *call;
  const std::string model = request["model"].get<std::string>();
  const json final_object = {{"model", model},
                             {"created_at", "2024-12-01T10:00:00.000000Z"},
                             {"message", {{"role", "assistant"}, {"content", ""}}},
                             {"done", true},
                             {"done_reason", "stop"},
                             {"total_duration", 120000000},
                             {"load_duration", 1000000},
                             {"prompt_eval_count", prompt_tokens_of(prompt)},
                             {"prompt_eval_duration", 20000000},
                             {"eval_count", reply_tokens_of(reply)},
                             {"eval_duration", 90000000}};
  if (!request.value("stream", true)) {
    json whole = final_object;
    whole["message"]["content"] = reply;
    res.set_content(whole.dump(), kJson);
    return;
  }
  std::string out;
  for (std::size_t at = 0; at < reply.size(); at += 16) {
    const json piece = {{"model", model},
                        {"created_at", "2024-12-01T10:00:00.000000Z"},
                        {"message", {{"role", "assistant"}, {"content", reply.substr(at, 16)}}},
                        {"done", false}};
    out += piece.dump() + "\n";
  }
  out += final_object.dump() + "\n";
  res.set_content(out, "application/x-ndjson");
}

}  // namespace opsmeter::testing
