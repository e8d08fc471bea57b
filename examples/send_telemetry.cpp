// Sends one LLM-call record through opsmeter::Client to the ingest server named by
// OPSMETER_API_BASE_URL (default: the mock server on 127.0.0.1:8787) with OPSMETER_API_KEY,
// waits for delivery, and prints the client's view: stats and the server's posture.
#include <opsmeter/opsmeter.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

}  // namespace

int main() {
  opsmeter::Options options;
  options.api_key = env_or("OPSMETER_API_KEY", "test-key");
  options.base_url = env_or("OPSMETER_API_BASE_URL", "http://127.0.0.1:8787");
  options.log_level = opsmeter::LogLevel::kInfo;
  opsmeter::Client client(options);

  const auto started = std::chrono::steady_clock::now();
  // ... the provider call would happen here ...
  opsmeter::LlmCallRecord record;
  record.external_request_id = opsmeter::new_request_id();  // reuse it if the call is retried
  record.provider = "openai";
  record.model = "gpt-4o-mini";
  record.prompt_version = "summary_v3";
  record.endpoint_tag = "checkout.ai_summary";
  record.input_tokens = 120;
  record.output_tokens = 45;
  record.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - started).count();
  record.metadata.token_source = opsmeter::TokenSource::kProvider;

  const opsmeter::RecordResult result = client.record(std::move(record));
  if (!result.queued()) {
    std::fprintf(stderr, "record() did not queue: %s\n",
                 std::string(opsmeter::to_string(result.reason)).c_str());
    return 1;
  }
  const opsmeter::FlushResult flushed = client.flush(std::chrono::seconds(5));
  const opsmeter::Stats stats = client.stats();
  const opsmeter::ClientStatus status = client.status();
  std::printf("flush: %s\n", std::string(opsmeter::to_string(flushed)).c_str());
  std::printf("recorded=%llu delivered=%llu dropped=%llu pending=%llu last_error=\"%s\"\n",
              static_cast<unsigned long long>(stats.recorded),
              static_cast<unsigned long long>(stats.delivered),
              static_cast<unsigned long long>(stats.dropped),
              static_cast<unsigned long long>(stats.pending()), stats.last_error.c_str());
  if (status.posture) {
    std::printf("posture: ok=%d planTier=%s telemetryPaused=%d\n", status.posture->ok.value_or(false),
                status.posture->plan_tier.c_str(), status.posture->telemetry_paused.value_or(false));
  }
  return stats.delivered == 1 ? 0 : 1;
}
