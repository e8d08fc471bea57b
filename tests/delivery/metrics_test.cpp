// The Prometheus exposition of stats() and status(), parsed by the reference parser
// (python3-prometheus-client) after records were delivered over loopback; and the new
// Stats figures (queued bytes, oldest pending age, last delivery) while an outage holds records.
#include <gtest/gtest.h>

#include <fstream>

#include "capture.hpp"
#include "client_fixture.hpp"
#include "opsmeter/metrics.hpp"
#include "opsmeter/testing/mock_ingest_server.hpp"
#include "opsmeter/testing/support.hpp"
#include "peers.hpp"
#include "test_client.hpp"

namespace opsmeter {
namespace {

using namespace std::chrono_literals;

TEST(Metrics, TheExpositionParsesAndCountsDeliveries) {
  testing::MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  Options o;
  o.api_key = "test-key";
  o.base_url = server.base_url();
  o.timeout = 5s;
  Client client = test::make_client(o);
  const auto before = std::chrono::system_clock::now();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.record(test::make_record()).queued());
  ASSERT_EQ(client.flush(10s), FlushResult::kFlushed);
  const Stats stats = client.stats();
  EXPECT_EQ(stats.delivered, 3u);
  EXPECT_GE(stats.last_delivered_at, before - 1s);  // the step's wall time, ms precision
  EXPECT_EQ(stats.oldest_pending_age, 0ms);
  EXPECT_EQ(stats.queue_capacity, o.queue.capacity);
  EXPECT_EQ(stats.queue_max_bytes, o.queue.max_bytes);

  const std::string text = to_prometheus_text(stats, client.status(), "service=\"checkout\"");
  const std::string path = test::scratch_dir() + "/metrics.txt";
  std::ofstream(path) << text;
  ASSERT_TRUE(access(OPSMETER_SYSTEM_PYTHON, X_OK) == 0) << "install python3 (scripts/deps.sh)";
  const std::string log = test::scratch_dir() + "/check.log";
  const int status = test::run_to_exit({OPSMETER_SYSTEM_PYTHON, OPSMETER_CHECK_PROMETHEUS, path, "3", "service=checkout"},
                                       log, 60s);
  EXPECT_TRUE(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << test::read_file(log) << "\n" << text;
}

// While the API is unreachable, the byte bound's count and the oldest record's age grow.
TEST(Metrics, AnOutageShowsInQueuedBytesAndTheOldestPendingAge) {
  Options o;
  o.api_key = "test-key";
  o.base_url = "http://127.0.0.1:" + std::to_string(testing::unused_loopback_port());
  o.timeout = 5s;
  o.shutdown_timeout = 100ms;
  Client client = test::make_client(o);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client.record(test::make_record()).queued());
  ASSERT_TRUE(test::eventually([&] { return client.status().unreachable; }, 10s));
  ASSERT_TRUE(test::eventually([&] { return client.stats().oldest_pending_age >= 200ms; }, 10s))
      << client.stats().oldest_pending_age.count();
  const Stats stats = client.stats();
  EXPECT_EQ(stats.pending(), 20u);
  EXPECT_EQ(stats.last_delivered_at, std::chrono::system_clock::time_point{});
  // Records held in the queue are counted by its byte bound.
  if (stats.queued > 0) {
    EXPECT_GT(stats.queued_bytes, 0u);
  }
  const ClientStatus status = client.status();
  EXPECT_NE(status.unreachable_since_wall, std::chrono::system_clock::time_point{});
  EXPECT_LE(status.unreachable_since_wall, std::chrono::system_clock::now());
  const std::string text = to_prometheus_text(stats, status);
  EXPECT_NE(text.find("\nopsmeter_unreachable 1\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace opsmeter
