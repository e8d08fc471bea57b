// A burst against a per-key rate limit over loopback: the mock server's token bucket (500
// requests/s, 50 deep, 429 with Retry-After: 1 when empty). The client honours each window and
// then paces itself at a learned rate instead of resuming at full speed: every record is
// delivered, with few 429s. The time it takes is measured by opsmeter-load
// (docs/benchmarks.md), not asserted here.
#include <gtest/gtest.h>

#include <cstdio>

#include "capture.hpp"
#include "opsmeter/client.hpp"
#include "opsmeter/testing/mock_ingest_server.hpp"
#include "opsmeter/testing/support.hpp"
#include "test_client.hpp"

namespace opsmeter {
namespace {

using namespace std::chrono_literals;

TEST(RateLimit, BurstAgainstATokenBucketIsDeliveredWholeWithFew429s) {
  testing::MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  server.set_rate_limit(500, 50);
  test::LogCapture logs;
  Options o;
  o.api_key = "test-key";
  o.base_url = server.base_url();
  o.queue.capacity = 20000;
  o.max_record_age = 10min;
  o.on_log = logs.sink();
  o.log_level = LogLevel::kInfo;
  Client client = test::make_client(o);
  constexpr int kRecords = 20000;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRecords; ++i) ASSERT_TRUE(client.record(testing::sample_record()).queued());
  bool saw_pacing = false;
  const bool flushed = test::eventually(
      [&] {
        saw_pacing = saw_pacing || client.status().send_rate_limit > 0;
        return client.stats().pending() == 0;
      },
      240s);
  ASSERT_TRUE(flushed) << [&] {
    const Stats s = client.stats();
    const ClientStatus st = client.status();
    return "delivered " + std::to_string(s.delivered) + ", dropped " + std::to_string(s.dropped) + ", queued " +
           std::to_string(s.queued) + ", in flight " + std::to_string(s.in_flight) + ", retry waiting " +
           std::to_string(s.retry_waiting) + ", requests " + std::to_string(s.requests_sent) + ", throttled " +
           std::to_string(s.throttled) + ", send rate limit " + std::to_string(st.send_rate_limit) +
           ", last error " + s.last_error;
  }();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const Stats s = client.stats();
  EXPECT_EQ(s.delivered, static_cast<std::uint64_t>(kRecords));
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(server.stored_count(), static_cast<std::size_t>(kRecords));
  const std::size_t throttled = server.counts_by_status()[429];
  EXPECT_LE(throttled * 20, server.request_count()) << throttled << " 429s of " << server.request_count();
  EXPECT_TRUE(saw_pacing);
  EXPECT_GE(logs.count("pacing sends at"), 1u);
  std::printf("[ measured ] %d records in %.1f s (ideal %.0f s), %zu requests, %zu answered 429\n", kRecords,
              seconds, kRecords / 500.0, server.request_count(), throttled);
}

}  // namespace
}  // namespace opsmeter
