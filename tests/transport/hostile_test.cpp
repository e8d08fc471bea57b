// The client against peers that never let a transfer finish: a server that answers with
// interim responses forever, one that trickles a response a byte at a time, and a resolver
// that never answers. Deadlines hold whatever they do: each transfer times out, shutdown()
// and the destructor return by theirs, and record() never blocks.
#include <gtest/gtest.h>

#include <memory>

#include "capture.hpp"
#include "hostile.hpp"
#include "opsmeter/client.hpp"
#include "opsmeter/testing/support.hpp"
#include "test_client.hpp"

namespace opsmeter {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr auto kGrace = 1000ms;
#else
constexpr auto kGrace = 250ms;
#endif

Options hostile_options(const std::string& base_url, test::LogCapture& logs) {
  Options o;
  o.api_key = "test-key";
  o.base_url = base_url;
  o.timeout = 300ms;
  o.retry.base_delay = 5ms;
  o.retry.max_delay = 20ms;
  o.shutdown_timeout = 500ms;
  o.log_level = LogLevel::kDebug;
  o.on_log = logs.sink();
  return o;
}

std::chrono::milliseconds timed_shutdown(Client& client) {
  const auto start = Clock::now();
  EXPECT_EQ(client.shutdown(500ms), FlushResult::kTimedOut);
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

class Hostile : public ::testing::Test {
 protected:
  static void TearDownTestSuite() { test::release_hanging_lookups(); }
  test::LogCapture logs_;
};

TEST_F(Hostile, EndlessInterimResponsesEndTheTransferAndCannotHoldShutdown) {
  test::HostileServer server(test::HostileServer::Mode::kEndlessInterim);
  ASSERT_TRUE(server.ok());
  Client client = test::make_client(hostile_options(server.base_url(), logs_));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.record(testing::sample_record()).queued());
  // libcurl ends each transfer (its 300 KiB response-header cap, or the timeout) and the
  // record is retried (a fourth request for three records): the worker is never stuck in one.
  ASSERT_TRUE(test::eventually([&] { return server.requests() >= 4; }, 10s));
  EXPECT_FALSE(client.stats().last_error.empty());
  const auto start = Clock::now();
  client.shutdown(500ms);
  EXPECT_LT(Clock::now() - start, 500ms + kGrace);
  const Stats s = client.stats();
  EXPECT_EQ(s.pending(), 0u);
  EXPECT_EQ(s.recorded, s.delivered + s.dropped);
}

TEST_F(Hostile, TrickledResponseTimesOutAndCannotHoldShutdown) {
  test::HostileServer server(test::HostileServer::Mode::kTrickle);
  ASSERT_TRUE(server.ok());
  Client client = test::make_client(hostile_options(server.base_url(), logs_));
  ASSERT_TRUE(client.record(testing::sample_record()).queued());
  ASSERT_TRUE(test::eventually([&] { return server.requests() >= 2; }, 10s));  // retried
  EXPECT_NE(client.stats().last_error.find("timeout"), std::string::npos) << client.stats().last_error;
  EXPECT_LT(timed_shutdown(client), 500ms + kGrace);
}

TEST_F(Hostile, ResolverThatNeverAnswersCannotHoldShutdownOrTheDestructor) {
  const std::string url = std::string("https://ingest") + test::kHangingHostSuffix;
  // Lookups outlast the test: a timed-out lookup would make the ingest API unreachable and
  // hold the records between probes, with no lookup running for shutdown to abandon.
  Options o = hostile_options(url, logs_);
  o.timeout = 60s;
  {
    Client client = test::make_client(o);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.record(testing::sample_record()).queued());
    ASSERT_TRUE(test::eventually([] { return test::hanging_lookups_started() >= 1; }, 10s));
    const auto start = Clock::now();
    for (int i = 0; i < 1000; ++i) client.record(testing::sample_record());  // never blocks
    EXPECT_LT(Clock::now() - start, 500ms);
    EXPECT_LT(timed_shutdown(client), 500ms + kGrace);
    EXPECT_EQ(client.stats().pending(), 0u);
  }
  EXPECT_EQ(logs_.count("abandoned a name lookup"), 1u);
  // The destructor alone (shutdown_timeout 500 ms) is bound the same way.
  const int before = test::hanging_lookups_started();
  auto client = std::make_unique<Client>(test::make_client(o));
  ASSERT_TRUE(client->record(testing::sample_record()).queued());
  ASSERT_TRUE(test::eventually([&] { return test::hanging_lookups_started() > before; }, 10s));
  const auto start = Clock::now();
  client.reset();
  EXPECT_LT(Clock::now() - start, 500ms + kGrace);
}

}  // namespace
}  // namespace opsmeter
