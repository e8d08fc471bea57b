// opsmeter_spool_helper DIR BASE_URL COUNT: records COUNT typical records for an ingest API that
// does not answer, with the disk spool in DIR; shuts down (which spools them); prints
// "spooled N" and then every id, one per line; and waits to be killed. The spool tests kill it
// with SIGKILL and let a new client deliver what it left.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "opsmeter/opsmeter.hpp"
#include "opsmeter/testing/support.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: opsmeter_spool_helper DIR BASE_URL COUNT\n");
    return 2;
  }
  opsmeter::Options o;
  o.api_key = "test-key";
  o.spool_dir = argv[1];
  o.base_url = argv[2];
  o.log_level = opsmeter::LogLevel::kError;
  o.unreachable_probe_min = std::chrono::hours(1);
  o.unreachable_probe_max = std::chrono::hours(1);
  std::vector<std::string> ids;
  {
    opsmeter::Client client(o);
    const int count = std::atoi(argv[3]);
    for (int i = 0; i < count; ++i) {
      opsmeter::LlmCallRecord r = opsmeter::testing::sample_record();
      ids.push_back(r.external_request_id);
      client.record(std::move(r));
    }
    // Nothing listens, so shutdown writes the spool at once; the time is room for sanitizer
    // builds.
    client.shutdown(std::chrono::seconds(4));
    std::printf("spooled %llu\n", static_cast<unsigned long long>(client.stats().spooled));
  }
  for (const std::string& id : ids) std::printf("%s\n", id.c_str());
  std::fflush(stdout);
  for (;;) pause();
}
