// Reacting to the plan limit the way the Opsmeter docs describe: on 402 telemetry pauses, the
// app shows a banner with an upgrade call to action, and provider calls carry on untouched.
// Runs against an in-process mock ingest server whose plan limit is 3 records.
#include <opsmeter/opsmeter.hpp>
#include <opsmeter/testing/mock_ingest_server.hpp>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

int main() {
  opsmeter::testing::MockIngestServer server;
  if (!server.start()) return 1;
  server.set_plan_limit(3);

  std::mutex banner_mu;
  std::string banner;  // what the app's UI would show
  opsmeter::Options options;
  options.api_key = "test-key";
  options.base_url = server.base_url();
  options.pause.window = std::chrono::minutes(10);
  options.on_pause = [&](const opsmeter::PauseEvent& e) {
    std::lock_guard<std::mutex> lock(banner_mu);
    banner = e.paused ? "Telemetry paused (" + std::string(e.reason) +
                            "). Provider calls continue. Upgrade your Opsmeter plan to resume."
                      : std::string();
  };
  opsmeter::Client client(options);

  int provider_calls = 0;
  for (int i = 0; i < 8; ++i) {
    opsmeter::CallScope call = client.start_call("openai", "gpt-4o-mini");
    ++provider_calls;  // the provider call itself never depends on telemetry
    opsmeter::Usage usage;
    usage.input_tokens = 100;
    usage.output_tokens = 20;
    call.set_usage(usage);
    const opsmeter::RecordResult r = call.finish();
    client.flush(std::chrono::seconds(2));
    std::printf("call %d: telemetry %s\n", i + 1,
                r.queued() ? "queued" : std::string("dropped: " + std::string(opsmeter::to_string(r.reason))).c_str());
  }
  const opsmeter::ClientStatus status = client.status();
  {
    std::lock_guard<std::mutex> lock(banner_mu);
    std::printf("banner: %s\n", banner.c_str());
  }
  std::printf("provider calls made: %d; records stored by the server: %zu; paused: %s (%s)\n",
              provider_calls, server.stored_count(), status.telemetry_paused ? "yes" : "no",
              status.pause_reason.c_str());
  return status.telemetry_paused && provider_calls == 8 && server.stored_count() == 3 ? 0 : 1;
}
