// A streamed chat completion: the body arrives as server-sent events, StreamUsage reads the
// final usage chunk (requested with stream_options.include_usage), and the scope records it.
#include <opsmeter/opsmeter.hpp>

#include <cstdio>

#include "example_http.hpp"

int main() {
  opsmeter::Client client(opsmeter::Options::from_environment());
  const std::string url = example::env_or("OPENAI_BASE_URL", "http://127.0.0.1:8787/v1") + "/chat/completions";

  opsmeter::CallScope call = client.start_call("openai", "gpt-4o-mini");
  opsmeter::StreamUsage usage(opsmeter::StreamFormat::kOpenAiChat);
  const example::HttpResponse response = example::post_json(
      url,
      R"({"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},)"
      R"("messages":[{"role":"user","content":"Stream me a short answer."}]})",
      example::provider_headers(), [&](const std::string& chunk) { usage.feed(chunk); });
  const opsmeter::ProviderResponse facts = usage.result();
  if (response.status != 200) call.set_error("provider_http_" + std::to_string(response.status));
  call.set_response(facts);
  std::printf("stream usage: input=%lld output=%lld total=%lld (%s)\n",
              static_cast<long long>(facts.usage.input_tokens),
              static_cast<long long>(facts.usage.output_tokens),
              static_cast<long long>(facts.usage.total_tokens.value_or(-1)),
              facts.has_usage ? "from the provider" : facts.error.c_str());
  call.finish();
  client.flush(std::chrono::seconds(5));
  return facts.has_usage && client.stats().delivered == 1 ? 0 : 1;
}
