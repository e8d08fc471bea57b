// Ollama's native chat API, streamed: Ollama sends one JSON object a line (not server-sent
// events), and the final `done: true` object carries prompt_eval_count and eval_count.
// capture_stream hands the call a tap; the call feeds it the bytes as they arrive.
//
// Environment: OPSMETER_API_KEY and OPSMETER_API_BASE_URL, OLLAMA_BASE_URL (default
// http://127.0.0.1:11434; the bundled mock server answers /api/chat the same way).
#include <opsmeter/opsmeter.hpp>

#include <cstdio>

#include "example_http.hpp"

int main() {
  opsmeter::Client client(opsmeter::Options::from_environment());
  const std::string url = example::env_or("OLLAMA_BASE_URL", "http://127.0.0.1:11434") + "/api/chat";

  std::string answer;
  const example::HttpResponse response = opsmeter::capture_stream(
      client, "ollama", "llama3.2:3b", opsmeter::StreamFormat::kOllamaNdjson,
      [&](opsmeter::StreamTap tap) {
        return example::post_json(url,
                                  R"({"model":"llama3.2:3b","messages":[{"role":"user","content":"Why is the sky blue?"}]})",
                                  {}, [&](const std::string& chunk) {
                                    tap(chunk);
                                    answer += chunk;  // your code would print the message pieces
                                  });
      },
      [](const example::HttpResponse& r) { return opsmeter::http_outcome(r.status); });

  opsmeter::StreamUsage usage(opsmeter::StreamFormat::kOllamaNdjson);  // only to print what was recorded
  usage.feed(answer);
  const opsmeter::ProviderResponse facts = usage.result();
  std::printf("HTTP %ld, stream usage: input=%lld output=%lld (%s)\n", response.status,
              static_cast<long long>(facts.usage.input_tokens), static_cast<long long>(facts.usage.output_tokens),
              facts.has_usage ? "from the provider" : facts.error.c_str());
  client.flush(std::chrono::seconds(5));
  std::printf("telemetry: delivered=%llu\n", static_cast<unsigned long long>(client.stats().delivered));
  return facts.has_usage && client.stats().delivered == 1 ? 0 : 1;
}
