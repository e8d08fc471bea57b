// The delivery policy as a table: one row per outcome class, with the action and timing the
// contract asks for.
#include <gtest/gtest.h>

#include <ostream>

#include "delivery/policy.hpp"

namespace opsmeter::detail {
namespace {

using namespace std::chrono_literals;

const TimePoint kNow = TimePoint(100s);

struct Row {
  const char* name;
  AttemptOutcome outcome;
  int attempts;
  double jitter;
  Action action;
  Millis delay;  // not_before - now, for timed actions
};

// Readable, stable test names (the default prints the row's raw bytes).
void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

class PolicyTable : public ::testing::TestWithParam<Row> {};

TEST_P(PolicyTable, Decides) {
  PolicyConfig config;  // max_retries 2, base 200 ms, cap 5 s, default Retry-After 1 s, 60 s cap
  config.pause_window = 600s;
  const Row& row = GetParam();
  const Decision d = decide(row.outcome, row.attempts, kNow, config, row.jitter);
  EXPECT_EQ(d.action, row.action) << to_string(d.action);
  if (row.action == Action::kRetry || row.action == Action::kThrottle || row.action == Action::kPause) {
    EXPECT_EQ(std::chrono::duration_cast<Millis>(d.not_before - kNow), row.delay);
  }
}

AttemptOutcome http(int status, std::optional<Millis> retry_after = std::nullopt) {
  return AttemptOutcome{status, TransportError::kNone, retry_after};
}
AttemptOutcome failed(TransportError error) { return AttemptOutcome{0, error, std::nullopt}; }
// A failure of the connection (HttpResult::connection_failed); `on_wire`: the request was sent.
AttemptOutcome connection_lost(TransportError error, bool on_wire) {
  return AttemptOutcome{0, error, std::nullopt, true, on_wire};
}
// A request that reached the wire and got no answer, while the gate judges the API unreachable.
AttemptOutcome unreachable(TransportError error) { return AttemptOutcome{0, error, std::nullopt, false, true, true}; }

INSTANTIATE_TEST_SUITE_P(
    Contract, PolicyTable,
    ::testing::Values(
        Row{"ok200", http(200), 1, 0.5, Action::kDelivered, 0ms},
        Row{"ok202", http(202), 1, 0.5, Action::kDelivered, 0ms},
        Row{"throttle_header", http(429, 3000ms), 1, 0.5, Action::kThrottle, 3150ms},
        Row{"throttle_no_header", http(429), 1, 0.5, Action::kThrottle, 1050ms},
        // At the cap the spread is drawn below it: the window never passes max_retry_after.
        Row{"throttle_capped", http(429, 3600000ms), 1, 0.5, Action::kThrottle, 57000ms},
        Row{"throttle_capped_spread_max", http(429, 3600000ms), 1, 0.999, Action::kThrottle, 59994ms},
        Row{"throttle_capped_spread_min", http(429, 3600000ms), 1, 0.0, Action::kThrottle, 54000ms},
        Row{"throttle_near_cap", http(429, 58000ms), 1, 0.999, Action::kThrottle, 59994ms},
        Row{"throttle_ignores_attempts", http(429, 2000ms), 9, 0.5, Action::kThrottle, 2100ms},
        Row{"throttle_zero_floors_at_1s", http(429, 0ms), 1, 0.0, Action::kThrottle, 1000ms},
        Row{"throttle_subsecond_floors_at_1s", http(429, 300ms), 1, 0.0, Action::kThrottle, 1000ms},
        Row{"throttle_resume_spread_max", http(429, 2000ms), 1, 0.999, Action::kThrottle, 2199ms},  // +10%
        Row{"plan_limit", http(402), 1, 0.5, Action::kPause, 600000ms},
        Row{"server_error_first", http(503), 1, 0.5, Action::kRetry, 100ms},  // 0.5 * 200
        Row{"server_error_second", http(500), 2, 0.5, Action::kRetry, 200ms},  // 0.5 * 400
        Row{"server_error_jitter_zero", http(502), 1, 0.0, Action::kRetry, 0ms},
        Row{"server_error_exhausted", http(500), 3, 0.5, Action::kGiveUp, 0ms},
        Row{"request_timeout_status", http(408), 1, 1.0, Action::kRetry, 200ms},
        Row{"timeout", failed(TransportError::kTimeout), 1, 1.0, Action::kRetry, 200ms},
        Row{"connect", failed(TransportError::kConnect), 2, 1.0, Action::kRetry, 400ms},
        Row{"refused_holds", connection_lost(TransportError::kConnect, false), 1, 0.5, Action::kHold, 0ms},
        Row{"refused_holds_past_max_retries", connection_lost(TransportError::kConnect, false), 9, 0.5,
            Action::kHold, 0ms},
        Row{"tls_holds", connection_lost(TransportError::kTls, false), 1, 0.5, Action::kHold, 0ms},
        Row{"connect_timeout_holds", connection_lost(TransportError::kTimeout, false), 1, 0.5, Action::kHold,
            0ms},
        // libcurl's own resend of a request reset on a kept-alive connection, refused: held,
        // however many requests the record already had.
        Row{"resend_refused_holds", connection_lost(TransportError::kConnect, true), 3, 0.5, Action::kHold, 0ms},
        // A request with no answer while the API is unreachable: held; one that timed out may
        // have been read, so it still counts against max_retries.
        Row{"reset_in_outage_holds", unreachable(TransportError::kNetwork), 3, 0.5, Action::kHold, 0ms},
        Row{"timeout_in_outage_holds", unreachable(TransportError::kTimeout), 2, 0.5, Action::kHold, 0ms},
        Row{"timeout_in_outage_exhausted", unreachable(TransportError::kTimeout), 3, 0.5, Action::kGiveUp, 0ms},
        // A slow answer on a working connection is that request's failure.
        Row{"slow_answer_retries", failed(TransportError::kTimeout), 2, 0.5, Action::kRetry, 200ms},
        Row{"network_exhausted", failed(TransportError::kNetwork), 3, 1.0, Action::kGiveUp, 0ms},
        Row{"aborted", failed(TransportError::kAborted), 1, 0.5, Action::kAbandon, 0ms},
        Row{"bad_request", http(400), 1, 0.5, Action::kReject, 0ms},
        Row{"unauthorized", http(401), 1, 0.5, Action::kReject, 0ms},
        Row{"forbidden", http(403), 1, 0.5, Action::kReject, 0ms},
        Row{"not_found", http(404), 1, 0.5, Action::kReject, 0ms},
        Row{"too_large", http(413), 1, 0.5, Action::kReject, 0ms},
        Row{"unprocessable", http(422), 1, 0.5, Action::kReject, 0ms},
        Row{"redirect", http(301), 1, 0.5, Action::kReject, 0ms}),
    [](const ::testing::TestParamInfo<Row>& row) { return std::string(row.param.name); });

TEST(Backoff, IsCappedByRetryMaxDelay) {
  PolicyConfig config;
  config.max_retries = 10;
  const Decision d = decide(http(503), 10, kNow, config, 1.0);  // 200 ms * 2^9 > 5 s cap
  EXPECT_EQ(std::chrono::duration_cast<Millis>(d.not_before - kNow), 5000ms);
}

struct RetryAfterRow {
  const char* value;
  std::optional<Millis> expected;
};

void PrintTo(const RetryAfterRow& row, std::ostream* os) { *os << '"' << row.value << '"'; }

class RetryAfterTable : public ::testing::TestWithParam<RetryAfterRow> {};

// 1994-11-06 08:49:37 UTC, the example date of RFC 9110.
const WallClock::time_point kWallNow = WallClock::from_time_t(784111777);

TEST_P(RetryAfterTable, Parses) {
  EXPECT_EQ(parse_retry_after(GetParam().value, kWallNow), GetParam().expected) << GetParam().value;
}

INSTANTIATE_TEST_SUITE_P(
    Forms, RetryAfterTable,
    ::testing::Values(RetryAfterRow{"0", 0ms}, RetryAfterRow{"1", 1000ms},
                      RetryAfterRow{" 120 ", 120000ms},
                      RetryAfterRow{"Sun, 06 Nov 1994 08:49:40 GMT", 3000ms},
                      RetryAfterRow{"Sunday, 06-Nov-94 08:49:47 GMT", 10000ms},
                      RetryAfterRow{"Sun Nov  6 08:49:39 1994", 2000ms},
                      RetryAfterRow{"Sun, 06 Nov 1994 08:00:00 GMT", 0ms},  // in the past
                      // Past 2262, beyond the clock's nanoseconds: a huge value the caller caps.
                      RetryAfterRow{"Fri, 31 Dec 9999 23:59:59 GMT", Millis(999999999LL * 1000)},
                      RetryAfterRow{"", std::nullopt}, RetryAfterRow{"-5", std::nullopt},
                      RetryAfterRow{"1.5", std::nullopt}, RetryAfterRow{"soon", std::nullopt},
                      RetryAfterRow{"Sun, 06 Nov 1994 08:49:40 PST", std::nullopt},
                      RetryAfterRow{"Sun, 06 Foo 1994 08:49:40 GMT", std::nullopt}));

}  // namespace
}  // namespace opsmeter::detail
