// Measures how long Client::shutdown(500 ms) and the destructor take against a mock server
// that accepts every request and never answers. Prints one JSON line.
//   opsmeter_shutdown_timing [runs]   (default 50)
#include <opsmeter/opsmeter.hpp>
#include <opsmeter/testing/mock_ingest_server.hpp>
#include <opsmeter/testing/support.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 50;
  opsmeter::testing::MockIngestServer server;
  if (!server.start()) return 1;
  server.set_fault_fraction(opsmeter::testing::Fault::never_answer(), 1.0);

  std::vector<double> shutdown_ms, destructor_ms;
  for (int i = 0; i < runs; ++i) {
    opsmeter::Options o;
    o.api_key = "test-key";
    o.base_url = server.base_url();
    o.timeout = 800ms;
    o.shutdown_timeout = 500ms;
    o.on_log = [](opsmeter::LogLevel, std::string_view) {};
    {
      opsmeter::Client client(o);
      for (int k = 0; k < 100; ++k) client.record(opsmeter::testing::sample_record());
      server.wait_for_requests(1, 5s);
      const auto start = Clock::now();
      client.shutdown(500ms);
      shutdown_ms.push_back(ms_since(start));
    }
    auto client = std::make_unique<opsmeter::Client>(o);
    for (int k = 0; k < 100; ++k) client->record(opsmeter::testing::sample_record());
    const auto start = Clock::now();
    client.reset();  // destructor: shutdown(options.shutdown_timeout = 500 ms)
    destructor_ms.push_back(ms_since(start));
    server.clear_faults();  // release held requests, then hold again
    server.set_fault_fraction(opsmeter::testing::Fault::never_answer(), 1.0);
  }
  std::sort(shutdown_ms.begin(), shutdown_ms.end());
  std::sort(destructor_ms.begin(), destructor_ms.end());
  std::printf(
      "{\"runs\":%d,\"deadline_ms\":500,\"shutdown_ms\":{\"min\":%.1f,\"p50\":%.1f,\"max\":%.1f},"
      "\"destructor_ms\":{\"min\":%.1f,\"p50\":%.1f,\"max\":%.1f}}\n",
      runs, shutdown_ms.front(), shutdown_ms[shutdown_ms.size() / 2], shutdown_ms.back(),
      destructor_ms.front(), destructor_ms[destructor_ms.size() / 2], destructor_ms.back());
  server.stop();
  return shutdown_ms.back() <= 600.0 && destructor_ms.back() <= 600.0 ? 0 : 1;
}
