// A self-hosted model behind llama.cpp's server (llama-server), called through a client that
// returns parsed JSON, recorded with the capture helper and the nlohmann::json adapter.
// llama-server answers OpenAI's Chat Completions shape; with `cache_prompt` it reuses the
// prompt's prefix from its cache and reports the reused tokens in `timings.cache_n`, which the
// SDK records as cached input tokens. The second call with the same prompt shows it.
//
// Environment: OPSMETER_API_KEY and OPSMETER_API_BASE_URL, LLAMACPP_BASE_URL (the server's
// OpenAI-compatible root, default http://127.0.0.1:8080/v1; the bundled mock server's /v1
// answers the same shape).
#include <opsmeter/adapters/nlohmann_json.hpp>
#include <opsmeter/opsmeter.hpp>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "example_http.hpp"

namespace {

// The kind of client many services wrap around their model server: JSON in, JSON out.
class LlamaServerClient {
 public:
  explicit LlamaServerClient(std::string base_url) : base_url_(std::move(base_url)) {}
  nlohmann::json chat(const nlohmann::json& request) const {
    const example::HttpResponse r = example::post_json(base_url_ + "/chat/completions", request.dump());
    if (r.status != 200) throw std::runtime_error("llama-server: HTTP " + std::to_string(r.status) + " " + r.error);
    return nlohmann::json::parse(r.body);
  }

 private:
  std::string base_url_;
};

}  // namespace

int main() {
  opsmeter::Client client(opsmeter::Options::from_environment());
  const LlamaServerClient llama(example::env_or("LLAMACPP_BASE_URL", "http://127.0.0.1:8080/v1"));
  const nlohmann::json request = {
      {"model", "qwen2.5-7b-instruct-q4_k_m.gguf"},
      {"cache_prompt", true},
      {"messages", {{{"role", "system"}, {"content", "You answer questions about our product catalogue."}},
                    {{"role", "user"}, {"content", "Which plans include SSO?"}}}}};

  opsmeter::CallOptions how;
  how.endpoint_tag = "catalogue.answer";
  int failures = 0;
  for (int attempt = 1; attempt <= 2; ++attempt) {
    try {
      // The read keeps what it extracted, so the reply is parsed for usage once.
      opsmeter::ProviderResponse facts;
      const nlohmann::json reply = opsmeter::capture(
          client, "llamacpp", request["model"].get<std::string>(), how, [&] { return llama.chat(request); },
          [&](const nlohmann::json& r) { return facts = opsmeter::extract_json(r, opsmeter::extract_openai_chat); });
      (void)reply;  // your code would use the answer
      std::printf("call %d: input=%lld cached=%lld output=%lld\n", attempt,
                  static_cast<long long>(facts.usage.input_tokens),
                  static_cast<long long>(facts.usage.cached_input_tokens),
                  static_cast<long long>(facts.usage.output_tokens));
    } catch (const std::exception& e) {  // recorded as a failed call, then handled as usual
      std::printf("call %d failed: %s\n", attempt, e.what());
      ++failures;
    }
  }
  client.flush(std::chrono::seconds(5));
  std::printf("telemetry: delivered=%llu\n", static_cast<unsigned long long>(client.stats().delivered));
  return failures == 0 && client.stats().delivered == 2 ? 0 : 1;
}
