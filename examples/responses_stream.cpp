// A streamed call to OpenAI's Responses API: named server-sent events, the usage in the final
// `response.completed` event. capture_stream records it; the call feeds the tap the bytes.
//
// Environment: OPSMETER_API_KEY and OPSMETER_API_BASE_URL, OPENAI_BASE_URL (default
// https://api.openai.com/v1; the bundled mock server's /v1 answers the same events) and
// optionally OPENAI_API_KEY.
#include <opsmeter/opsmeter.hpp>

#include <cstdio>

#include "example_http.hpp"

int main() {
  opsmeter::Client client(opsmeter::Options::from_environment());
  const std::string url = example::env_or("OPENAI_BASE_URL", "https://api.openai.com/v1") + "/responses";

  opsmeter::CallOptions how;
  how.operation = "responses";
  std::string events;
  const example::HttpResponse response = opsmeter::capture_stream(
      client, "openai", "gpt-4o-mini", opsmeter::StreamFormat::kOpenAiResponses, how,
      [&](opsmeter::StreamTap tap) {
        return example::post_json(url, R"({"model":"gpt-4o-mini","stream":true,"input":"Write one line about rivers."})",
                                  example::provider_headers(), [&](const std::string& chunk) {
                                    tap(chunk);
                                    events += chunk;
                                  });
      },
      [](const example::HttpResponse& r) { return opsmeter::http_outcome(r.status); });

  opsmeter::StreamUsage usage(opsmeter::StreamFormat::kOpenAiResponses);  // only to print what was recorded
  usage.feed(events);
  const opsmeter::ProviderResponse facts = usage.result();
  std::printf("HTTP %ld, %s: input=%lld output=%lld total=%lld (%s)\n", response.status, facts.id.c_str(),
              static_cast<long long>(facts.usage.input_tokens), static_cast<long long>(facts.usage.output_tokens),
              static_cast<long long>(facts.usage.total_tokens.value_or(-1)),
              facts.has_usage ? "from the provider" : facts.error.c_str());
  client.flush(std::chrono::seconds(5));
  std::printf("telemetry: delivered=%llu\n", static_cast<unsigned long long>(client.stats().delivered));
  return facts.has_usage && client.stats().delivered == 1 ? 0 : 1;
}
