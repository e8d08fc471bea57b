// An application retry loop around a provider call: one call scope (one externalRequestId)
// spans every attempt, so Opsmeter sees one row with the final outcome and the attempt count.
// The id can also be given to the provider as an idempotency key. The first attempt is made
// to fail with the mock provider's X-Mock-Status header.
#include <opsmeter/opsmeter.hpp>

#include <cstdio>

#include "example_http.hpp"

int main() {
  opsmeter::Client client(opsmeter::Options::from_environment());
  const std::string url = example::env_or("OPENAI_BASE_URL", "http://127.0.0.1:8787/v1") + "/chat/completions";
  const std::string request = R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]})";

  opsmeter::CallScope call = client.start_call("openai", "gpt-4o-mini");
  int attempt = 0;
  example::HttpResponse response;
  for (; attempt < 3; ++attempt) {
    std::vector<std::string> headers = example::provider_headers();
    headers.push_back("X-Request-Id: " + call.id());  // the same id on every attempt
    if (attempt == 0) headers.push_back("X-Mock-Status: 503");
    response = example::post_json(url, request, headers);
    std::printf("attempt %d: HTTP %ld (id %s)\n", attempt + 1, response.status, call.id().c_str());
    if (response.status == 200) break;
  }
  call.set_metadata("attempts", std::int64_t{attempt + 1});
  if (response.status == 200) {
    call.set_response(opsmeter::extract_openai_chat(response.body));
  } else {
    call.set_error("provider_unavailable");
  }
  call.finish();
  client.flush(std::chrono::seconds(5));
  std::printf("delivered=%llu\n", static_cast<unsigned long long>(client.stats().delivered));
  return client.stats().delivered == 1 ? 0 : 1;
}
