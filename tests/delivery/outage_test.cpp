// An ingest outage over loopback: the mock server stops (its listening socket closed, its
// connections dropped) and comes back on the same port. Records recorded meanwhile are held,
// not dropped, a few probes test the connection, and every record is delivered exactly once
// when it is back; records older than max_record_age are dropped as too_old and counted.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

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

// The onset of an outage, with records flowing (250/s): requests are in flight on kept-alive
// connections when the server drops every connection (three of them held unanswered, reset
// with the rest) and refuses new ones; libcurl resends some on fresh connections, refused.
// Every record is held and delivered when the server is back, none is retired as
// retries_exhausted, every one is stored, and no id reaches a server more than 1 + retry.max_retries
// times. (The two servers share no storage: a record stored by the first whose answer the stop
// cut off is sent again and stored by the second too, where one ingest API would count it as a
// duplicate.)
TEST(Outage, NothingIsLostAsAnOutageBegins) {
  MockIngestServer first;
  ASSERT_TRUE(first.start()) << first.last_error();
  const int port = first.port();
  test::LogCapture logs;
  Options o = outage_options(first.base_url(), logs);
  o.outage_probe.min = 200ms;
  o.outage_probe.max = 400ms;
  // A sanitizer build on a loaded 2-core machine can take longer than 600 ms to answer, and a
  // run of such timeouts is itself an outage (6 of the last 8 requests unanswered): a second
  // one, not the one under test. bench/noisy_api.sh runs this with the default timeout.
  o.timeout = 5s;
  Client client = test::make_client(o);
  constexpr int kRecords = 1000;
  std::thread producer([&] {
    auto next = Clock::now();
    for (int i = 0; i < kRecords; ++i) {
      client.record(testing::sample_record());
      next += 4ms;  // 250 records/s, as a service's calls arrive
      std::this_thread::sleep_until(next);
    }
  });
  ASSERT_TRUE(first.wait_for_stored(200, 20s));
  const std::size_t before = first.request_count();
  first.push_fault(testing::Fault::never_answer(), 3);
  ASSERT_TRUE(first.wait_for_requests(before + 3, 20s));
  // The outage under test is the one that starts here: lines from before it are not its.
  // Known flap, left failing this test (not loosened): an answer to a request sent before the
  // outage, read after the first failure, ends the outage ("reachable again after 0s"), and the
  // next reset starts a second one. The gate should let only requests sent after the outage
  // began end it.
  const std::size_t unreachable_lines = logs.count("ingest unreachable:");
  const std::size_t reachable_lines = logs.count("ingest reachable again after");
  first.stop();  // resets the held requests and every connection, closes the listener
  ASSERT_TRUE(outage_lasts(client, 1s));

  MockIngestOptions same_port;
  same_port.port = port;
  MockIngestServer second(same_port);
  ASSERT_TRUE(second.start()) << second.last_error();
  producer.join();
  ASSERT_EQ(client.flush(60s), FlushResult::kFlushed);
  const Stats s = client.stats();
  EXPECT_EQ(s.delivered, static_cast<std::uint64_t>(kRecords));
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.dropped_for(DropReason::kRetriesExhausted), 0u);
  std::map<std::string, int> on_the_wire;
  std::set<std::string> stored_first, stored_second;
  for (const auto& r : first.requests()) {
    ++on_the_wire[r.external_request_id];
    if (r.status == 200 && !r.duplicate) stored_first.insert(r.external_request_id);
  }
  for (const auto& r : second.requests()) {
    ++on_the_wire[r.external_request_id];
    if (r.status == 200 && !r.duplicate) stored_second.insert(r.external_request_id);
  }
  std::set<std::string> stored = stored_first;
  stored.insert(stored_second.begin(), stored_second.end());
  EXPECT_EQ(stored.size(), static_cast<std::size_t>(kRecords));
  EXPECT_EQ(first.duplicate_count() + second.duplicate_count(), 0u);
  for (const auto& [id, times] : on_the_wire) EXPECT_LE(times, 1 + o.retry.max_retries) << id;
  const auto all_lines = [&] {
    std::string all;
    for (const auto& line : logs.lines()) all += line + "\n";
    return all;
  };
  EXPECT_EQ(logs.count("ingest unreachable:") - unreachable_lines, 1u) << all_lines();
  EXPECT_EQ(logs.count("ingest reachable again after") - reachable_lines, 1u) << all_lines();
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
  o.outage_probe.min = 50ms;
  o.outage_probe.max = 50ms;
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
