// Uses opsmeter::testing from an installed opsmeter: the mock server starts and a client
// delivers one record to it.
#include <opsmeter/opsmeter.hpp>
#include <opsmeter/testing/mock_ingest_server.hpp>
#include <opsmeter/testing/support.hpp>

#include <chrono>

int main() {
  opsmeter::testing::MockIngestServer server;
  if (!server.start()) return 1;
  opsmeter::Options options;
  options.api_key = "test-key";
  options.base_url = server.base_url();
  opsmeter::Client client(options);
  if (!client.record(opsmeter::testing::sample_record()).queued()) return 2;
  if (client.flush(std::chrono::seconds(10)) != opsmeter::FlushResult::kFlushed) return 3;
  return server.stored_count() == 1 ? 0 : 4;
}
