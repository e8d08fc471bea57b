// What the client tests share: the mock-server fixture, the accounting identity, a condition
// wait with a deadline, and options for a client whose server is down.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

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

// Waits until `predicate` holds or the deadline passes; returns its last value.
template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = kGenerous) {
  const auto deadline = Clock::now() + timeout;
  while (!predicate()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);  // polling interval of a condition wait, not a timing
  }
  return true;
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
    o.retry_base_delay = 5ms;
    o.retry_max_delay = 20ms;
    // Sanitizer builds on a loaded 2-core machine can take longer than 600 ms to answer; a
    // spurious timeout would add a retry and change the exact request counts asserted here.
    // Tests about timeouts set their own.
    o.timeout = 5s;
    o.log_level = LogLevel::kDebug;
    o.on_log = [this](LogLevel level, std::string_view line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      logs_.emplace_back(line);
      levels_.push_back(level);
    };
    return o;
  }

  std::size_t log_count(std::string_view needle) {
    std::lock_guard<std::mutex> lock(log_mu_);
    std::size_t n = 0;
    for (const auto& line : logs_) n += line.find(needle) != std::string::npos;
    return n;
  }
  std::size_t log_count_at(LogLevel level) {
    std::lock_guard<std::mutex> lock(log_mu_);
    return static_cast<std::size_t>(std::count(levels_.begin(), levels_.end(), level));
  }
  std::string all_logs() {
    std::lock_guard<std::mutex> lock(log_mu_);
    std::string all;
    for (const auto& line : logs_) all += line + "\n";
    return all;
  }

  std::vector<std::string> ids_received() {
    std::vector<std::string> ids;
    for (const auto& r : server_.requests()) ids.push_back(r.external_request_id);
    return ids;
  }

  MockIngestServer server_;
  std::mutex log_mu_;
  std::vector<std::string> logs_;
  std::vector<LogLevel> levels_;
};

}  // namespace opsmeter::test
