// opsmeter_idle_wakeups: how often an idle client's threads wake. Sums the context switches
// (voluntary and not) from /proc/self/task/*/status over SECONDS (default 10), for the threads
// the client started (the worker, and any libcurl started): once for a client that never sent
// anything, once for one that delivered a record to the in-process mock server (a kept-alive
// connection open) and has nothing more to send. The mock server's own threads are not counted.
// Prints one JSON line.
//
//   opsmeter_idle_wakeups [SECONDS]
#include <dirent.h>
#include <opsmeter/opsmeter.hpp>
#include <opsmeter/testing/mock_ingest_server.hpp>
#include <opsmeter/testing/support.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <thread>

namespace {

std::set<std::string> threads() {
  std::set<std::string> ids;
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return ids;
  while (const dirent* entry = readdir(tasks)) {
    if (entry->d_name[0] != '.') ids.insert(entry->d_name);
  }
  closedir(tasks);
  return ids;
}

// Context switches so far of this process's threads that are not in `others`.
long long switches(const std::set<std::string>& others) {
  long long total = 0;
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return -1;
  while (const dirent* entry = readdir(tasks)) {
    if (entry->d_name[0] == '.' || others.count(entry->d_name) > 0) continue;
    std::ifstream status(std::string("/proc/self/task/") + entry->d_name + "/status");
    std::string key;
    while (status >> key) {
      if (key == "voluntary_ctxt_switches:" || key == "nonvoluntary_ctxt_switches:") {
        long long n = 0;
        status >> n;
        total += n;
      }
    }
  }
  closedir(tasks);
  return total;
}

// Context switches per second of the threads not in `others` over `seconds`, the main thread
// (one of `others`) asleep meanwhile.
double rate_over(int seconds, const std::set<std::string>& others) {
  const long long before = switches(others);
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  return static_cast<double>(switches(others) - before) / seconds;
}

opsmeter::Options options(const std::string& base_url) {
  opsmeter::Options o;
  o.api_key = "test-key";
  o.base_url = base_url;
  o.on_log = [](opsmeter::LogLevel, std::string_view) {};
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::stoi(argv[1]) : 10;
  opsmeter::testing::MockIngestServer server;
  if (!server.start()) return 1;
  double never_sent = 0, after_one = 0;
  long long wake_ns[5] = {};
  unsigned long long delivered = 0;
  {
    const std::set<std::string> others = threads();
    opsmeter::Client client(options("http://127.0.0.1:" + std::to_string(opsmeter::testing::unused_loopback_port())));
    std::this_thread::sleep_for(std::chrono::seconds(2));  // past the worker's first second
    never_sent = rate_over(seconds, others);
  }
  {
    const std::set<std::string> others = threads();
    opsmeter::Client client(options(server.base_url()));
    client.record(opsmeter::testing::sample_record());
    client.flush(std::chrono::seconds(10));
    delivered = client.stats().delivered;
    std::this_thread::sleep_for(std::chrono::seconds(2));  // past the worker's second of polling
    after_one = rate_over(seconds, others);
    // What the first record after a sleep costs the caller: record() wakes the worker (one
    // system call). Five times, each after the worker fell asleep again.
    for (int i = 0; i < 5; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      opsmeter::LlmCallRecord r = opsmeter::testing::sample_record();
      const auto a = std::chrono::steady_clock::now();
      client.record(std::move(r));
      const auto b = std::chrono::steady_clock::now();
      wake_ns[i] = std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
    }
  }
  std::printf("{\"seconds\":%d,\"wakeups_per_s_never_sent\":%.1f,\"wakeups_per_s_after_a_delivery\":%.1f,"
              "\"delivered\":%llu,\"record_after_sleep_ns\":[%lld,%lld,%lld,%lld,%lld]}\n",
              seconds, never_sent, after_one, delivered, wake_ns[0], wake_ns[1], wake_ns[2], wake_ns[3], wake_ns[4]);
  return 0;
}
