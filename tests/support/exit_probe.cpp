// A program that ends with a live TLS client, for the exit-safety test: it records records as
// fast as it can and calls exit() while the worker is sending, with the client leaked, on
// main's stack (exit() skips its destructor) or static (destroyed among the exit handlers).
// Usage: opsmeter_exit_probe BASE_URL CA_BUNDLE leak|stack|static
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "opsmeter/client.hpp"
#include "opsmeter/testing/support.hpp"

// The probe leaks its client on purpose; LeakSanitizer (in the asan build) must not fail it.
extern "C" const char* __asan_default_options() { return "detect_leaks=0"; }

namespace {

opsmeter::Options probe_options(const char* base_url, const char* ca_bundle) {
  opsmeter::Options o;
  o.api_key = "test-key";
  o.base_url = base_url;
  o.tls.ca_bundle = ca_bundle;
  o.max_in_flight = 8;
  o.on_log = [](opsmeter::LogLevel, std::string_view) {};
  return o;
}

// Records until some records are delivered (the worker has TLS connections open), then a
// burst more so that requests are in flight when exit() runs.
void drive(opsmeter::Client& client) {
  for (int i = 0; i < 50; ++i) client.record(opsmeter::testing::sample_record());
  for (int i = 0; i < 5000 && client.stats().delivered < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // a probe, not a test: polls
  }
  for (int i = 0; i < 200; ++i) client.record(opsmeter::testing::sample_record());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  const std::string mode = argv[3];
  if (mode == "leak") {
    auto* client = new opsmeter::Client(probe_options(argv[1], argv[2]));
    drive(*client);
    std::exit(0);
  }
  if (mode == "stack") {
    opsmeter::Client client(probe_options(argv[1], argv[2]));
    drive(client);
    std::exit(0);
  }
  if (mode == "static") {
    static opsmeter::Client client(probe_options(argv[1], argv[2]));
    drive(client);
    std::exit(0);
  }
  return 2;
}
