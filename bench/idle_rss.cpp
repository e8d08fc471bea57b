// opsmeter_idle_rss: what an idle client costs in resident memory. Reads VmRSS before
// constructing a Client (nothing listening, nothing recorded) and 200 ms after, and prints one
// JSON line. The added RSS is split as the kernel counts it: RssFile (pages of mapped files:
// the code of libcurl, OpenSSL and their configuration, loaded at first use) and RssAnon
// (memory the client and its libraries allocated: heap, the worker's stack, the queue).
//
//   opsmeter_idle_rss [QUEUE_CAPACITY]
#include <opsmeter/opsmeter.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

namespace {

long status_kib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string key;
  long value = 0;
  while (status >> key) {
    if (key == field) {
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
  if (argc > 1) o.queue.capacity = std::stoul(argv[1]);
  o.on_log = [](opsmeter::LogLevel, std::string_view) {};
  const long before = status_kib("VmRSS:"), file_before = status_kib("RssFile:"),
             anon_before = status_kib("RssAnon:");
  opsmeter::Client client(o);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const long idle = status_kib("VmRSS:");
  std::printf("{\"queue_capacity\":%zu,\"rss_before_kib\":%ld,\"rss_idle_client_kib\":%ld,\"added_kib\":%ld,"
              "\"added_file_kib\":%ld,\"added_anon_kib\":%ld}\n",
              o.queue.capacity, before, idle, idle - before, status_kib("RssFile:") - file_before,
              status_kib("RssAnon:") - anon_before);
  return 0;
}
