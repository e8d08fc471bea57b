// The spool tests' helper process; it prints "pid P" (its pid, as it sees it) first.
//   opsmeter_spool_helper DIR BASE_URL COUNT: records COUNT typical records for an ingest API
//     that does not answer, with the disk spool in DIR; shuts down (which spools them); prints
//     "spooled N" and then every id, one per line; and waits to be killed.
//   opsmeter_spool_helper outage DIR BASE_URL COUNT: the same, but with a queue of 100 records
//     and no shutdown: the worker moves the oldest queued records to its open spool file during
//     the outage; prints "spooled N" and the ids once N are written, and waits to be killed
//     (so its file is never closed: as a crash leaves it).
//   opsmeter_spool_helper deliver DIR BASE_URL COUNT: a client on DIR that waits up to 60 s
//     until COUNT records are delivered; prints "delivered N" and exits.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "opsmeter/opsmeter.hpp"
#include "opsmeter/testing/support.hpp"

namespace {

opsmeter::Options options(const char* dir, const char* base_url) {
  opsmeter::Options o;
  o.api_key = "test-key";
  o.spool.dir = dir;
  o.base_url = base_url;
  o.log_level = opsmeter::LogLevel::kError;
  o.outage_probe.min = std::chrono::hours(1);
  o.outage_probe.max = std::chrono::hours(1);
  return o;
}

template <typename Done>
bool wait_for(Done done, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = "shutdown";
  if (argc == 5) {
    mode = argv[1];
    ++argv;
    --argc;
  }
  if (argc != 4 || (mode != "shutdown" && mode != "outage" && mode != "deliver")) {
    std::fprintf(stderr, "usage: opsmeter_spool_helper [outage|deliver] DIR BASE_URL COUNT\n");
    return 2;
  }
  std::printf("pid %ld\n", static_cast<long>(getpid()));
  std::fflush(stdout);
  opsmeter::Options o = options(argv[1], argv[2]);
  const int count = std::atoi(argv[3]);
  if (mode == "deliver") {
    opsmeter::Client client(o);
    wait_for([&] { return client.stats().delivered >= static_cast<std::uint64_t>(count); }, std::chrono::seconds(60));
    std::printf("delivered %llu\n", static_cast<unsigned long long>(client.stats().delivered));
    return 0;
  }
  if (mode == "outage") o.queue.capacity = 100;
  std::vector<std::string> ids;
  opsmeter::Client client(o);
  for (int i = 0; i < count; ++i) {
    opsmeter::LlmCallRecord r = opsmeter::testing::sample_record();
    ids.push_back(r.external_request_id);
    client.record(std::move(r));
  }
  if (mode == "outage") {
    // The queue is over half full: the worker spools the oldest until it is not.
    wait_for([&] { return client.stats().queued <= 50; }, std::chrono::seconds(30));
  } else {
    // Nothing listens, so shutdown writes the spool at once; the time is room for sanitizer
    // builds.
    client.shutdown(std::chrono::seconds(4));
  }
  std::printf("spooled %llu\n", static_cast<unsigned long long>(client.stats().spooled));
  for (const std::string& id : ids) std::printf("%s\n", id.c_str());
  std::fflush(stdout);
  for (;;) pause();
}
