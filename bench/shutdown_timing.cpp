// Measures how long Client::shutdown(500 ms) and the destructor take against a mock server
// that accepts every request and never answers. Prints one JSON line.
//   opsmeter_shutdown_timing [runs]   (default 50)
// With --spool, how long shutdown(500 ms) takes when it writes what is pending to the disk
// spool: RECORDS records (default 49,000: the default queue nearly full) recorded while nothing
// listens (so the client knows the ingest API is unreachable and writes at once), then
// shutdown; prints the time, the records spooled and the files' bytes.
//   opsmeter_shutdown_timing --spool DIR [RECORDS]
#include <opsmeter/opsmeter.hpp>
#include <opsmeter/testing/mock_ingest_server.hpp>
#include <opsmeter/testing/support.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

int spool_timing(const std::string& dir, int records) {
  opsmeter::Options o;
  o.api_key = "test-key";
  o.base_url = "http://127.0.0.1:" + std::to_string(opsmeter::testing::unused_loopback_port());
  o.spool.dir = dir;
  o.outage_probe.min = std::chrono::hours(1);
  o.outage_probe.max = std::chrono::hours(1);
  o.on_log = [](opsmeter::LogLevel, std::string_view) {};
  opsmeter::Client client(o);
  for (int k = 0; k < records; ++k) client.record(opsmeter::testing::sample_record());
  const auto start = Clock::now();
  client.shutdown(500ms);
  const double took = ms_since(start);
  const opsmeter::Stats s = client.stats();
  std::uintmax_t bytes = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) bytes += e.file_size();
  std::printf("{\"records\":%d,\"deadline_ms\":500,\"shutdown_ms\":%.1f,\"spooled\":%llu,"
              "\"dropped\":%llu,\"spool_bytes\":%ju}\n",
              records, took, static_cast<unsigned long long>(s.spooled),
              static_cast<unsigned long long>(s.dropped), bytes);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 2 && std::string(argv[1]) == "--spool") return spool_timing(argv[2], argc > 3 ? std::atoi(argv[3]) : 49000);
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
