// The accounting alone: each record's end is counted once and reported to on_result, answers
// that need a person are logged once per kind (not per record), callbacks that throw are
// counted, and record()'s own drops are logged at most once a second.
#include "delivery/accounting.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace opsmeter::detail {
namespace {

using namespace std::chrono_literals;

class AccountingTest : public ::testing::Test {
 protected:
  AccountingTest() {
    options_.on_result = [this](const DeliveryReport& r) {
      reports_.push_back(std::string(r.external_request_id) +
                         (r.delivered ? " delivered" : " dropped ") +
                         (r.delivered ? "" : std::string(to_string(r.reason))));
    };
  }

  std::size_t logged(std::string_view needle) const {
    std::size_t n = 0;
    for (const std::string& line : logs_) n += line.find(needle) != std::string::npos;
    return n;
  }

  Stats stats() const {
    Stats s;
    accounting_.fill(s, TimePoint{});
    return s;
  }

  const TimePoint t0_ = TimePoint(1000s);
  Options options_;
  SharedState shared_{16};
  std::vector<std::string> logs_;
  std::vector<std::string> reports_;
  Logger logger_{LogLevel::kDebug,
                 [this](LogLevel, std::string_view line) { logs_.emplace_back(line); }};
  Accounting accounting_{options_, shared_, logger_};
  const std::string a_ = "ext_a", b_ = "ext_b", c_ = "ext_c";
};

TEST_F(AccountingTest, EachEndIsCountedOnceAndReported) {
  accounting_.delivered(RecordEnd{a_, 1, 200}, std::nullopt);
  accounting_.dropped(RecordEnd{b_, 3, 503}, DropReason::kRetriesExhausted);
  accounting_.rejected(RecordEnd{c_, 1, 400}, 400, std::nullopt, t0_);
  const Stats s = stats();
  EXPECT_EQ(s.delivered, 1u);
  EXPECT_EQ(s.dropped, 2u);
  EXPECT_EQ(s.dropped_for(DropReason::kRetriesExhausted), 1u);
  EXPECT_EQ(s.dropped_for(DropReason::kRejected), 1u);
  EXPECT_EQ(s.rejected_with(400), 1u);
  EXPECT_EQ(shared_.finished.load(), 3u);
  EXPECT_EQ(reports_,
            (std::vector<std::string>{"ext_a delivered", "ext_b dropped retries_exhausted",
                                      "ext_c dropped rejected"}));
}

// stats() in the middle of a worker step: records taken out of the queue before the worker
// published its figures are still pending (in flight), never missing from the sum.
TEST_F(AccountingTest, RecordsTakenBeforeTheWorkerPublishedAreStillPending) {
  for (int i = 0; i < 3; ++i) {
    QueuedRecord q(LlmCallRecord{}, t0_);
    ASSERT_TRUE(shared_.queue.try_push(q));
  }
  QueuedRecord out;
  ASSERT_TRUE(shared_.queue.try_pop(out));
  ASSERT_TRUE(shared_.queue.try_pop(out));
  Stats s = stats();
  EXPECT_EQ(s.recorded, 3u);
  EXPECT_EQ(s.queued, 1u);
  EXPECT_EQ(s.in_flight, 2u);
  EXPECT_EQ(s.retry_waiting, 0u);
  // Published: both wait for a retry.
  accounting_.publish_pending(0, 2);
  s = stats();
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.retry_waiting, 2u);
  // One ends before the worker publishes again: the stale figure is capped by what is held.
  accounting_.delivered(RecordEnd{a_, 1, 200}, std::nullopt);
  s = stats();
  EXPECT_EQ(s.retry_waiting, 1u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.recorded, s.delivered + s.dropped + s.pending());
}

TEST_F(AccountingTest, RefusedKeyAndRedirectAreLoggedOnce) {
  for (int i = 0; i < 3; ++i) accounting_.rejected(RecordEnd{a_, 1, 401}, 401, std::nullopt, t0_);
  for (int i = 0; i < 3; ++i) accounting_.rejected(RecordEnd{a_, 1, 301}, 301, std::nullopt, t0_);
  EXPECT_EQ(logged("rejected the API key (HTTP 401)"), 1u);
  EXPECT_EQ(logged("(a redirect)"), 1u);
  EXPECT_EQ(stats().rejected_with(401), 3u);
}

TEST_F(AccountingTest, RefusedKeyIsLoggedAgainOnlyAfterItWasAcceptedAgain) {
  accounting_.rejected(RecordEnd{a_, 1, 401}, 401, std::nullopt, t0_);
  accounting_.rejected(RecordEnd{b_, 1, 403}, 403, std::nullopt, t0_);
  accounting_.delivered(RecordEnd{c_, 1, 200}, std::nullopt);
  accounting_.delivered(RecordEnd{c_, 1, 200}, std::nullopt);
  EXPECT_EQ(logged("rejected the API key"), 1u);
  EXPECT_EQ(logged("ingest accepts the API key again; 2 record(s) were rejected while it was refused"), 1u);
  accounting_.rejected(RecordEnd{a_, 1, 401}, 401, std::nullopt, t0_);  // revoked again
  EXPECT_EQ(logged("rejected the API key"), 2u);
  EXPECT_EQ(logged("accepts the API key again"), 1u);
}

TEST_F(AccountingTest, OtherRejectionsAreLoggedOnceAMinutePerStatusAndReason) {
  IngestPosture model;
  model.reason = "model_required";
  IngestPosture tokens;
  tokens.reason = "tokens_negative";
  for (int i = 0; i < 5; ++i) accounting_.rejected(RecordEnd{b_, 1, 422}, 422, model, t0_ + i * 1s);
  accounting_.rejected(RecordEnd{c_, 1, 422}, 422, tokens, t0_);  // another reason: its own line
  EXPECT_EQ(logged("with HTTP 422: model_required"), 1u);
  EXPECT_EQ(logged("with HTTP 422: tokens_negative"), 1u);
  accounting_.rejected(RecordEnd{b_, 1, 422}, 422, model, t0_ + 60s);
  EXPECT_EQ(logged("with HTTP 422: model_required (4 more like it in the last minute not logged)"), 1u);
  EXPECT_EQ(stats().rejected_with(422), 7u);
}

TEST_F(AccountingTest, ServerTextIsEscapedAndCappedInLogs) {
  IngestPosture hostile;
  hostile.reason = "bad\r\nFAKE LOG LINE \x1b[31mred\x1b[0m" + std::string(5000, 'x');
  accounting_.rejected(RecordEnd{a_, 1, 400}, 400, hostile, t0_);
  accounting_.paused(hostile.reason, 10s, false);
  ASSERT_EQ(logs_.size(), 2u);
  for (const std::string& line : logs_) {
    EXPECT_EQ(line.find_first_of("\r\n\x1b"), std::string::npos) << line;
    EXPECT_NE(line.find("bad\\x0d\\x0aFAKE LOG LINE \\x1b[31mred"), std::string::npos) << line;
    EXPECT_NE(line.find("more bytes)"), std::string::npos);
    EXPECT_LT(line.size(), 400u);
  }
}

// An outage is logged once, when it starts (the gate says so), whatever reasons its failures
// give meanwhile, and once when it ends; a new outage is logged again.
TEST_F(AccountingTest, TlsFailureIsLoggedWhenItStartsAndWhenItEnds) {
  HttpResult tls;
  tls.error = TransportError::kTls;
  tls.connection_failed = true;
  tls.error_text = "certificate verify failed";
  accounting_.connection_failed(tls, true, tls.error_text);
  for (int i = 0; i < 3; ++i) accounting_.connection_failed(tls, false, tls.error_text);
  tls.error_text = "host name mismatch";
  accounting_.connection_failed(tls, false, tls.error_text);
  accounting_.reachable_again(5s, 12);  // the gate saw the outage end
  EXPECT_EQ(logged("TLS connection to the ingest API failed: certificate verify failed"), 1u);
  EXPECT_EQ(logged("TLS connection to the ingest API failed"), 1u);
  EXPECT_EQ(logged("holding records, probing with one request at a time"), 1u);
  EXPECT_EQ(logged("TLS connection to the ingest API works again after 5s; 12 records held"), 1u);
  accounting_.connection_failed(tls, true, tls.error_text);  // a new outage
  EXPECT_EQ(logged("TLS connection to the ingest API failed"), 2u);
}

TEST_F(AccountingTest, UnreachableIngestIsLoggedOnceWhateverReasonsAlternate) {
  HttpResult refused;
  refused.error = TransportError::kConnect;
  refused.connection_failed = true;
  refused.error_text = "Failed to connect to 127.0.0.1 port 9: Connection refused";
  accounting_.connection_failed(refused, true, refused.error_text);
  for (int i = 0; i < 50; ++i) {
    refused.error_text = i % 2 ? "Connection timed out after 600 milliseconds"
                               : "Failed to connect to 127.0.0.1 port 9 after 13 ms: Couldn't connect to server";
    accounting_.connection_failed(refused, false, refused.error_text);
  }
  accounting_.reachable_again(20300ms, 2000);
  EXPECT_EQ(logged("ingest unreachable: Failed to connect to 127.0.0.1 port 9: Connection refused"), 1u);
  EXPECT_EQ(logged("ingest unreachable:"), 1u);
  EXPECT_EQ(logged("ingest reachable again after 20.3s; 2000 records held"), 1u);
  EXPECT_EQ(logs_.size(), 2u);
}

TEST_F(AccountingTest, ThrowingCallbacksAreCounted) {
  options_.on_result = [](const DeliveryReport&) { throw std::runtime_error("user bug"); };
  options_.on_pause = [](const PauseEvent&) { throw 42; };
  accounting_.delivered(RecordEnd{a_, 1, 200}, std::nullopt);
  accounting_.paused("plan_limit_reached", 10s, false);
  accounting_.resumed("plan_limit_reached");
  EXPECT_EQ(stats().callback_errors, 3u);
  EXPECT_EQ(stats().delivered, 1u);
}

TEST_F(AccountingTest, RecordSideDropsAreLoggedAtMostOnceASecond) {
  shared_.count_drop(DropReason::kQueueFull);
  accounting_.log_record_side_drops(t0_);
  shared_.count_drop(DropReason::kQueueFull);
  accounting_.log_record_side_drops(t0_ + 999ms);  // within the second: not logged
  EXPECT_EQ(logged("record() dropped so far"), 1u);
  accounting_.log_record_side_drops(t0_ + 1s);
  EXPECT_EQ(logged("queue_full=2"), 1u);
  accounting_.log_record_side_drops(t0_ + 5s);  // nothing new: nothing logged
  EXPECT_EQ(logged("record() dropped so far"), 2u);
}

}  // namespace
}  // namespace opsmeter::detail
