// What the client tests share: the mock-server fixture (logs kept in a LogCapture), the
// accounting identity, and options for a client whose server is down. The condition wait with
// a deadline is `eventually()` in capture.hpp.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "capture.hpp"
#include "opsmeter/client.hpp"
#include "opsmeter/testing/mock_ingest_server.hpp"
#include "opsmeter/testing/support.hpp"
#include "test_client.hpp"

namespace opsmeter::test {

using namespace std::chrono_literals;
using testing::Fault;
using testing::MockIngestServer;
using Clock = std::chrono::steady_clock;

inline constexpr auto kGenerous =
    10s;  // upper bound for conditions that normally hold in milliseconds

// Grace allowed past a shutdown deadline. Sanitizer builds run the final accounting loop
// (10,000 records with callbacks) 5-15x slower, so they get more.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
inline constexpr auto kShutdownGrace = 1000ms;
#else
inline constexpr auto kShutdownGrace = 250ms;
#endif

inline LlmCallRecord make_record() { return testing::sample_record(); }
inline LlmCallRecord make_record(std::string id) { return testing::sample_record(std::move(id)); }

inline void expect_identity(const Stats& s) {
  EXPECT_EQ(s.recorded, s.delivered + s.dropped + s.pending())
      << "recorded=" << s.recorded << " delivered=" << s.delivered << " dropped=" << s.dropped
      << " pending=" << s.pending();
}

// Options for a client whose server is down; logs are discarded.
inline Options dead_server_options() {
  Options o;
  o.api_key = "k";
  o.base_url = "http://127.0.0.1:" + std::to_string(testing::unused_loopback_port());
  o.on_log = [](LogLevel, std::string_view) {};
  return o;
}

class ClientIntegration : public ::testing::Test {
 public:  // helpers in the test files use the server, options and logs
  void SetUp() override { ASSERT_TRUE(server_.start()) << server_.last_error(); }
  void TearDown() override { server_.stop(); }

  Options options() {
    Options o;
    o.api_key = "test-key";
    o.base_url = server_.base_url() + "/";  // trailing slash is stripped
    o.retry.base_delay = 5ms;
    o.retry.max_delay = 20ms;
    // Sanitizer builds on a loaded 2-core machine can take longer than 600 ms to answer; a
    // spurious timeout would add a retry and change the exact request counts asserted here.
    // Tests about timeouts set their own.
    o.timeout = 5s;
    o.log_level = LogLevel::kDebug;
    o.on_log = log_.sink();
    return o;
  }

  std::size_t log_count(std::string_view needle) const { return log_.count(needle); }
  std::size_t log_count_at(LogLevel level) const { return log_.count_at(level); }
  std::string all_logs() const { return log_.text(); }

  std::vector<std::string> ids_received() {
    std::vector<std::string> ids;
    for (const auto& r : server_.requests()) ids.push_back(r.external_request_id);
    return ids;
  }

  MockIngestServer server_;
  LogCapture log_;
};

}  // namespace opsmeter::test
