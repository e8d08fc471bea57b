// The queue's two bounds through the public API, over loopback: with the ingest API down,
// records wait in the queue until its bytes or its record count are used up, and the rest are
// dropped as queue_full and counted; with it up, a burst of 40,000 typical records from four
// threads fits in the default bounds and is delivered whole.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "capture.hpp"
#include "opsmeter/client.hpp"
#include "opsmeter/testing/mock_ingest_server.hpp"
#include "opsmeter/testing/support.hpp"
#include "test_client.hpp"

namespace opsmeter {
namespace {

using namespace std::chrono_literals;
using testing::MockIngestServer;

Options down_options() {
  Options o;
  o.api_key = "test-key";
  o.base_url = "http://127.0.0.1:" + std::to_string(testing::unused_loopback_port());  // nothing listens
  o.outage_probe.min = 1h;  // one probe, then the records wait
  o.outage_probe.max = 1h;
  o.log_level = LogLevel::kError;
  o.shutdown_timeout = 100ms;  // what is still queued then is dropped as shutdown
  return o;
}

// Records `n` records, each with a `padding`-byte metadata value (none when 0); returns how
// many were queued.
// Everything else must be a queue_full drop.
int record_padded(Client& client, int n, std::size_t padding) {
  int queued = 0;
  for (int i = 0; i < n; ++i) {
    LlmCallRecord r = testing::sample_record();
    if (padding > 0) r.metadata.extra.emplace_back("note", std::string(padding, 'f'));
    const RecordResult result = client.record(std::move(r));
    if (result.queued()) {
      ++queued;
    } else {
      EXPECT_EQ(result.reason, DropReason::kQueueFull);
    }
  }
  return queued;
}

TEST(QueueBounds, TheByteBoundHoldsWhileTheServerIsDown) {
  Options o = down_options();
  o.queue.max_bytes = 256 * 1024;
  Client client = test::make_client(o);
  // Each record holds its 0.5 KiB slot and a 1 KiB string (plus an id on the heap): at most
  // 256 KiB / 1.5 KiB of them fit, whatever the record bound (100,000) says.
  const int queued = record_padded(client, 2000, 1024);
  const int most = 256 * 1024 / (1024 + 512);
  EXPECT_GE(queued, most / 2);
  // + what the worker took out before it knew the server was down (its first requests)
  EXPECT_LE(queued, most + static_cast<int>(o.max_in_flight));
  const Stats s = client.stats();
  EXPECT_EQ(s.dropped_for(DropReason::kQueueFull), static_cast<std::uint64_t>(2000 - queued));
  EXPECT_EQ(s.recorded, 2000u);
  EXPECT_EQ(s.recorded, s.delivered + s.dropped + s.pending());

  // The same bound holds more than twice as many records without the 1 KiB value: it counts
  // bytes, not records.
  Client small_records = test::make_client(o);
  const int small = record_padded(small_records, 2000, 0);
  EXPECT_GT(small, 2 * queued);
  EXPECT_LE(small, 256 * 1024 / 512 + static_cast<int>(o.max_in_flight));
}

TEST(QueueBounds, TheRecordBoundHoldsWhileTheServerIsDown) {
  Options o = down_options();
  o.queue.capacity = 100;
  Client client = test::make_client(o);
  const int queued = record_padded(client, 1000, 0);
  EXPECT_GE(queued, 100);
  // + what the worker took out before it knew the server was down (its first requests)
  EXPECT_LE(queued, 100 + static_cast<int>(o.max_in_flight));
  const Stats s = client.stats();
  EXPECT_EQ(s.dropped_for(DropReason::kQueueFull), static_cast<std::uint64_t>(1000 - queued));
  EXPECT_LE(s.queued, 100u);
}

long peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

TEST(QueueBounds, ABurstOf40000FromFourThreadsIsDeliveredWholeWithTheDefaults) {
  MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  Options o;  // the default bounds: 100,000 records, 32 MiB
  o.api_key = "test-key";
  o.base_url = server.base_url();
  o.log_level = LogLevel::kError;
  o.max_in_flight = 16;
  Client client = test::make_client(o);
  const long rss_before = peak_rss_kib();

  constexpr int kThreads = 4, kPerThread = 10000;
  std::vector<std::vector<std::string>> ids(kThreads);
  for (auto& v : ids) v.reserve(kPerThread);
  std::vector<LlmCallRecord> prepared[kThreads];
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      prepared[t].push_back(testing::sample_record());
      ids[t].push_back(prepared[t].back().external_request_id);
    }
  }
  std::atomic<int> not_queued{0};
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (auto& r : prepared[t]) not_queued += client.record(std::move(r)).queued() ? 0 : 1;
    });
  }
  for (auto& t : threads) t.join();
  const auto recorded_in = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(not_queued.load(), 0);
  ASSERT_EQ(client.flush(180s), FlushResult::kFlushed);
  const Stats s = client.stats();
  EXPECT_EQ(s.delivered, 40000u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(server.stored_count(), 40000u);
  std::set<std::string> stored;
  for (const auto& r : server.requests()) stored.insert(r.external_request_id);
  std::size_t missing = 0;
  for (const auto& v : ids) {
    for (const auto& id : v) missing += stored.count(id) == 0 ? 1 : 0;
  }
  EXPECT_EQ(missing, 0u);
  // The process's peak includes the in-process mock server, which keeps every request: the
  // client's own figure is measured against the standalone server (docs/benchmarks.md).
  const long rss_after = peak_rss_kib();
  RecordProperty("peak_rss_kib", std::to_string(rss_after));
  std::printf("burst of 40000 recorded in %.1f ms; peak RSS of this process (client, prepared "
              "records and the in-process mock server) %ld KiB, %ld KiB before\n",
              std::chrono::duration<double, std::milli>(recorded_in).count(), rss_after, rss_before);
}

}  // namespace
}  // namespace opsmeter
