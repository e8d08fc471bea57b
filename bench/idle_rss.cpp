// opsmeter_idle_rss: what an idle client costs in resident memory. Reads VmRSS before
// constructing a Client (nothing listening, nothing recorded) and 200 ms after, and prints one
// JSON line.
//
//   opsmeter_idle_rss [QUEUE_CAPACITY]
#include <opsmeter/opsmeter.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

namespace {

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string key;
  long value = 0;
  while (status >> key) {
    if (key == "VmRSS:") {
      status >> value;
      return value;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  opsmeter::Options o;
  o.api_key = "k";
  o.base_url = "http://127.0.0.1:9";
  o.queue_capacity = argc > 1 ? std::stoul(argv[1]) : 10000;
  o.on_log = [](opsmeter::LogLevel, std::string_view) {};
  const long before = rss_kib();
  opsmeter::Client client(o);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const long idle = rss_kib();
  std::printf("{\"queue_capacity\":%zu,\"rss_before_kib\":%ld,\"rss_idle_client_kib\":%ld,\"added_kib\":%ld}\n",
              o.queue_capacity, before, idle, idle - before);
  return 0;
}
