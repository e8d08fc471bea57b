// An ingest outage over loopback: the mock server stops (its listening socket closed, its
// connections dropped) and comes back on the same port. Records recorded meanwhile are held,
// not dropped, a few probes test the connection, and every record is delivered exactly once
// when it is back; records older than max_record_age are dropped as too_old and counted.
#include <gtest/gtest.h>

#include <set>

#include "capture.hpp"
#include "opsmeter/client.hpp"
#include "opsmeter/testing/mock_ingest_server.hpp"
#include "opsmeter/testing/support.hpp"
#include "test_client.hpp"

namespace opsmeter {
namespace {

using namespace std::chrono_literals;
using testing::MockIngestOptions;
using testing::MockIngestServer;
using Clock = std::chrono::steady_clock;

Options outage_options(const std::string& base_url, test::LogCapture& logs) {
  Options o;
  o.api_key = "test-key";
  o.base_url = base_url;
  o.log_level = LogLevel::kDebug;
  o.on_log = logs.sink();
  return o;
}

// Waits until the client has held its records through an outage of at least `length`.
bool outage_lasts(const Client& client, std::chrono::milliseconds length) {
  return test::eventually([&] { return client.status().unreachable; }, 10s) &&
         test::eventually([&] { return Clock::now() - client.status().unreachable_since >= length; },
                          length + 10s);
}

TEST(Outage, RecordsAreHeldAndEachDeliveredOnceWhenTheServerReturns) {
  auto first = std::make_unique<MockIngestServer>();
  ASSERT_TRUE(first->start()) << first->last_error();
  const int port = first->port();
  test::LogCapture logs;
  Client client = test::make_client(outage_options(first->base_url(), logs));
  ASSERT_TRUE(client.record(testing::sample_record()).queued());  // a kept-alive connection
  ASSERT_EQ(client.flush(10s), FlushResult::kFlushed);
  first.reset();  // the ingest API goes away

  std::set<std::string> ids;
  for (int i = 0; i < 2000; ++i) {
    LlmCallRecord r = testing::sample_record();
    ids.insert(r.external_request_id);
    ASSERT_TRUE(client.record(std::move(r)).queued());
  }
  ASSERT_TRUE(outage_lasts(client, 3s));
  Stats s = client.stats();
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.pending(), 2000u);
  const ClientStatus during = client.status();
  EXPECT_GT(during.next_probe_at, during.unreachable_since);

  MockIngestOptions same_port;
  same_port.port = port;
  MockIngestServer second(same_port);
  ASSERT_TRUE(second.start()) << second.last_error();
  ASSERT_EQ(client.flush(60s), FlushResult::kFlushed);  // the next probe is at most 60 s away
  s = client.stats();
  EXPECT_EQ(s.delivered, 2001u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_FALSE(client.status().unreachable);
  EXPECT_EQ(second.stored_count(), 2000u);
  EXPECT_EQ(second.request_count(), 2000u);  // each exactly once
  std::set<std::string> received;
  for (const auto& r : second.requests()) received.insert(r.external_request_id);
  EXPECT_EQ(received, ids);
  // Once when it started and once when it ended, and a few probes between (1 s, 2 s, 4 s ...).
  EXPECT_EQ(logs.count("ingest unreachable:"), 1u);
  EXPECT_EQ(logs.count("ingest reachable again after"), 1u);
  const std::size_t probes = logs.count("probing the ingest API");
  EXPECT_GE(probes, 2u);
  EXPECT_LE(probes, 6u);
}

TEST(Outage, LongerThanMaxRecordAgeDropsThemAsTooOld) {
  auto first = std::make_unique<MockIngestServer>();
  ASSERT_TRUE(first->start()) << first->last_error();
  const int port = first->port();
  const std::string url = first->base_url();
  first.reset();
  test::LogCapture logs;
  Options o = outage_options(url, logs);
  o.max_record_age = 1s;
  o.unreachable_probe_min = 50ms;
  o.unreachable_probe_max = 50ms;
  Client client = test::make_client(o);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(client.record(testing::sample_record()).queued());
  ASSERT_TRUE(outage_lasts(client, 1500ms));
  EXPECT_EQ(client.stats().delivered, 0u);

  MockIngestOptions same_port;
  same_port.port = port;
  MockIngestServer second(same_port);
  ASSERT_TRUE(second.start()) << second.last_error();
  ASSERT_EQ(client.flush(10s), FlushResult::kFlushed);
  const Stats s = client.stats();
  EXPECT_EQ(s.dropped_for(DropReason::kTooOld), 50u);
  EXPECT_EQ(s.delivered, 0u);
  EXPECT_EQ(s.recorded, s.delivered + s.dropped);
  EXPECT_EQ(second.request_count(), 0u);
}

}  // namespace
}  // namespace opsmeter
