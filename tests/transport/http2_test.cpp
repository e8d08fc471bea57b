// The client against HTTP/2-only TLS servers: nghttpd (Debian's nghttp2-server) for delivery
// and multiplexing, and tests/tls/h2_server.py for 429 and 402 answers over h2. Neither speaks
// HTTP/1.1, so every delivered record went over HTTP/2.
#include <gtest/gtest.h>

#include <algorithm>

#include "test_client.hpp"
#include "capture.hpp"
#include "opsmeter/client.hpp"
#include "opsmeter/ids.hpp"
#include "opsmeter/testing/support.hpp"
#include "peers.hpp"

namespace opsmeter {
namespace {

using namespace std::chrono_literals;

Options h2_options(const std::string& base_url, test::LogCapture& logs) {
  Options o;
  o.api_key = "test-key";
  o.base_url = base_url;
  o.tls.ca_bundle = test::test_pki().ca;
  o.timeout = 5s;  // sanitizer builds
  o.retry.base_delay = 5ms;
  o.retry.max_delay = 20ms;
  o.log_level = LogLevel::kDebug;
  o.on_log = logs.sink();
  return o;
}

TEST(Http2, ThousandRecordsMultiplexedOnOneConnection) {
  test::Nghttpd server;
  ASSERT_TRUE(server.start());
  test::LogCapture logs;
  Options o = h2_options(server.base_url(), logs);
  o.max_in_flight = 8;
  o.queue.capacity = 2000;
  Client client = test::make_client(o);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(client.record(testing::sample_record()).queued());
  // Sample the connections while the records go out: HTTP/2 carries all 8 streams on one.
  std::size_t most = 0;
  const bool delivered = test::eventually(
      [&] {
        most = std::max(most, testing::connections_to(server.port()));
        return client.stats().delivered == 1000;
      },
      60s);
  ASSERT_TRUE(delivered) << "delivered " << client.stats().delivered << "; last error "
                         << client.stats().last_error;
  const Stats s = client.stats();
  EXPECT_EQ(s.requests_sent, 1000u);
  EXPECT_EQ(s.retried, 0u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(most, 1u);
  EXPECT_EQ(testing::connections_to(server.port()), 1u);
}

// Over HTTP/2 many more requests are in flight than max_in_flight (HTTP/1.1's connection
// count): max_streams, as streams on the one connection. The server holds every answer
// 400 ms, so what it saw open at once is what the client had in flight.
TEST(Http2, ManyStreamsInFlightOnOneConnection) {
  test::ScriptedH2Server server;
  ASSERT_TRUE(server.start("", {400, 1.0, 1}));
  test::LogCapture logs;
  Options o = h2_options(server.base_url(), logs);
  ASSERT_EQ(o.max_in_flight, 4u);
  ASSERT_EQ(o.max_streams, 100u);
  Client client = test::make_client(o);
  // One record first: HTTP/2 is known from its answer on.
  ASSERT_TRUE(client.record(testing::sample_record()).queued());
  ASSERT_EQ(client.flush(30s), FlushResult::kFlushed);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(client.record(testing::sample_record()).queued());
  ASSERT_EQ(client.flush(60s), FlushResult::kFlushed) << client.stats().last_error;
  const Stats s = client.stats();
  EXPECT_EQ(s.delivered, 101u);
  EXPECT_EQ(s.requests_sent, 101u);
  EXPECT_GT(server.most_open_streams(), 4);
  EXPECT_LE(server.most_open_streams(), 100);
}

TEST(Http2, ThrottleOverHttp2WaitsAndResendsSameId) {
  test::ScriptedH2Server server;
  ASSERT_TRUE(server.start("429:1"));
  test::LogCapture logs;
  Client client = test::make_client(h2_options(server.base_url(), logs));
  const std::string id = new_request_id();
  ASSERT_TRUE(client.record(testing::sample_record(id)).queued());
  ASSERT_EQ(client.flush(10s), FlushResult::kFlushed);
  ASSERT_TRUE(server.wait_for_requests(2, 10s));
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0], std::make_pair(429, id));
  EXPECT_EQ(requests[1], std::make_pair(200, id));
  const Stats s = client.stats();
  EXPECT_EQ(s.delivered, 1u);
  EXPECT_EQ(s.throttled, 1u);
  EXPECT_EQ(logs.count("Telemetry throttled, retry after 1"), 1u);
}

TEST(Http2, PaymentRequiredOverHttp2PausesTelemetry) {
  test::ScriptedH2Server server;
  ASSERT_TRUE(server.start("402"));
  test::LogCapture logs;
  Options o = h2_options(server.base_url(), logs);
  o.pause.window = 60s;
  Client client = test::make_client(o);
  ASSERT_TRUE(client.record(testing::sample_record()).queued());
  ASSERT_EQ(client.flush(10s), FlushResult::kFlushed);
  const ClientStatus st = client.status();
  EXPECT_TRUE(st.telemetry_paused);
  EXPECT_EQ(st.pause_reason, "plan_limit_reached");
  ASSERT_TRUE(st.posture.has_value());
  EXPECT_EQ(st.posture->is_plan_limit_reached, true);
  EXPECT_EQ(client.stats().dropped_for(DropReason::kPaused), 1u);
  EXPECT_EQ(client.record(testing::sample_record()).reason, DropReason::kPaused);
  EXPECT_EQ(server.requests().size(), 1u);
}

}  // namespace
}  // namespace opsmeter
