// The main example: one real, provider-shaped LLM call, wrapped in a call scope inside a
// context guard, recorded, flushed, and then the ingest server's view of it.
//
// Environment: OPSMETER_API_KEY and OPSMETER_API_BASE_URL (any ingest server; the bundled
// mock server answers GET /__stats, which is printed), OPENAI_BASE_URL (an OpenAI-compatible
// endpoint, e.g. http://127.0.0.1:8787/v1 for the mock server) and optionally OPENAI_API_KEY.
#include <opsmeter/opsmeter.hpp>

#include <cstdio>

#include "example_http.hpp"

int main() {
  opsmeter::Options options = opsmeter::Options::from_environment();
  options.log_level = opsmeter::LogLevel::kInfo;
  opsmeter::Client client(options);
  if (!client.status().enabled) {
    std::fprintf(stderr, "telemetry disabled: %s\n", client.status().disabled_reason.c_str());
  }

  const std::string provider_url =
      example::env_or("OPENAI_BASE_URL", "https://api.openai.com/v1") + "/chat/completions";

  // Attribution for everything this request handler does.
  opsmeter::Context context;
  context.endpoint_tag = "support.reply";
  context.prompt_version = "support_reply_v2";
  context.tenant_id = "tenant-acme";
  context.user_id = "u_5f2a";  // a pseudonymous id; never an email address
  opsmeter::ContextGuard guard(context);

  std::string id;
  {
    opsmeter::CallOptions how;
    how.operation = "chat.completions";
    opsmeter::CallScope call = client.start_call("openai", "gpt-4o-mini", how);
    id = call.id();
    const example::HttpResponse response = example::post_json(
        provider_url,
        R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"Summarise my last order in one line."}]})",
        example::provider_headers());
    if (response.status == 200) {
      const opsmeter::ProviderResponse facts = opsmeter::extract_openai_chat(response.body);
      call.set_response(facts);
      if (!facts.has_usage) call.set_usage(opsmeter::estimate_usage("Summarise my last order", response.body));
      std::printf("provider answered %s with model %s\n", facts.id.c_str(), facts.model.c_str());
    } else {
      call.set_error(response.status == 0 ? "provider_unreachable" : "provider_http_" + std::to_string(response.status));
      std::printf("provider call failed: %ld %s\n", response.status, response.error.c_str());
    }
  }  // the record is handed to the client here

  const opsmeter::FlushResult flushed = client.flush(std::chrono::seconds(5));
  const opsmeter::Stats stats = client.stats();
  std::printf("telemetry %s: recorded=%llu delivered=%llu dropped=%llu (id %s)\n",
              std::string(opsmeter::to_string(flushed)).c_str(),
              static_cast<unsigned long long>(stats.recorded),
              static_cast<unsigned long long>(stats.delivered),
              static_cast<unsigned long long>(stats.dropped), id.c_str());
  if (const auto& posture = client.status().posture) {
    std::printf("posture: ok=%s planTier=%s budgetWarning=%s telemetryPaused=%s\n",
                posture->ok.value_or(false) ? "true" : "false", posture->plan_tier.c_str(),
                posture->budget_warning.value_or(false) ? "true" : "false",
                posture->telemetry_paused.value_or(false) ? "true" : "false");
  }

  const example::HttpResponse server_view = example::get(options.base_url + "/__stats");
  if (server_view.status == 200) {
    std::printf("ingest server received: %s\n", server_view.body.c_str());
  } else {
    std::printf("(the ingest server has no /__stats; check the Opsmeter dashboard)\n");
  }
  return stats.delivered == 1 ? 0 : 1;
}
