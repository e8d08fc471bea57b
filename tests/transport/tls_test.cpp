// The client over HTTPS/1.1 against the mock ingest server with TLS (cpp-httplib's SSLServer),
// trusting a test CA made when the tests run: delivery and the policy rows that depend on the
// transport, then what the client refuses (untrusted certificate, name mismatch, redirects,
// cleartext to another host).
#include <gtest/gtest.h>

#include <algorithm>

#include "capture.hpp"
#include "opsmeter/client.hpp"
#include "opsmeter/ids.hpp"
#include "opsmeter/testing/mock_ingest_server.hpp"
#include "opsmeter/testing/support.hpp"
#include "peers.hpp"
#include "tls_mock.hpp"
#include "test_client.hpp"

namespace opsmeter {
namespace {

using namespace std::chrono_literals;
using testing::Fault;
using testing::MockIngestServer;

constexpr auto kGenerous = 10s;

class HttpsMock : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = &test::test_pki();
    ASSERT_TRUE(pki_->ok);
    server_ = std::make_unique<MockIngestServer>(test::tls_mock_options());
    ASSERT_TRUE(server_->start()) << server_->last_error();
    ASSERT_EQ(server_->base_url().rfind("https://127.0.0.1:", 0), 0u);
  }

  Options options() {
    Options o;
    o.api_key = "test-key";
    o.base_url = server_->base_url();
    o.tls.ca_bundle = pki_->ca;
    o.retry.base_delay = 5ms;
    o.retry.max_delay = 20ms;
    o.timeout = 5s;  // sanitizer builds; tests about timeouts set their own
    o.log_level = LogLevel::kDebug;
    o.on_log = logs_.sink();
    return o;
  }

  const test::TestPki* pki_ = nullptr;
  std::unique_ptr<MockIngestServer> server_;
  test::LogCapture logs_;
};

TEST_F(HttpsMock, DeliversOverTls) {
  Client client = test::make_client(options());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client.record(testing::sample_record()).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  const Stats s = client.stats();
  EXPECT_EQ(s.delivered, 20u);
  EXPECT_EQ(s.requests_sent, 20u);
  EXPECT_EQ(server_->stored_count(), 20u);
  for (const auto& r : server_->requests()) EXPECT_EQ(r.api_key, "test-key");
}

TEST_F(HttpsMock, ThrottleWaitsForRetryAfterAndResendsSameId) {
  server_->push_fault(Fault::throttle("1"));
  Client client = test::make_client(options());
  const std::string id = new_request_id();
  ASSERT_TRUE(client.record(testing::sample_record(id)).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  const auto requests = server_->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].status, 429);
  EXPECT_EQ(requests[1].status, 200);
  EXPECT_EQ(requests[1].external_request_id, id);
  EXPECT_GE(requests[1].arrived_at - requests[0].arrived_at, 1s);
  EXPECT_EQ(client.stats().throttled, 1u);
  EXPECT_EQ(logs_.count("Telemetry throttled, retry after 1"), 1u);
}

TEST_F(HttpsMock, PlanLimitPausesTelemetry) {
  server_->set_plan_limit(0);
  Options o = options();
  o.pause.window = 60s;
  Client client = test::make_client(o);
  ASSERT_TRUE(client.record(testing::sample_record()).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  const ClientStatus st = client.status();
  EXPECT_TRUE(st.telemetry_paused);
  EXPECT_EQ(st.pause_reason, "plan_limit_reached");
  EXPECT_EQ(client.stats().dropped_for(DropReason::kPaused), 1u);
  EXPECT_EQ(client.record(testing::sample_record()).reason, DropReason::kPaused);
  EXPECT_EQ(server_->request_count(), 1u);
}

TEST_F(HttpsMock, ServerErrorThenSuccessKeepsTheId) {
  server_->push_fault(Fault::http_status(503));
  Client client = test::make_client(options());
  const std::string id = new_request_id();
  ASSERT_TRUE(client.record(testing::sample_record(id)).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  const auto requests = server_->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].status, 503);
  EXPECT_EQ(requests[1].status, 200);
  EXPECT_EQ(requests[0].external_request_id, id);
  EXPECT_EQ(requests[1].external_request_id, id);
  EXPECT_EQ(client.stats().retried, 1u);
}

TEST_F(HttpsMock, TimeoutIsRetriedWithSameId) {
  server_->push_fault(Fault::delay_for(3000ms));
  Options o = options();
  o.timeout = 300ms;
  o.retry.max_retries = 5;  // a loaded (sanitizer) machine may time out a normal answer too
  Client client = test::make_client(o);
  const std::string id = new_request_id();
  ASSERT_TRUE(client.record(testing::sample_record(id)).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  const Stats s = client.stats();
  EXPECT_EQ(s.delivered, 1u);
  EXPECT_GE(s.retried, 1u);
  server_->clear_faults();
  ASSERT_TRUE(server_->wait_for_requests(s.requests_sent, kGenerous));
  for (const auto& r : server_->requests()) EXPECT_EQ(r.external_request_id, id);
}

TEST_F(HttpsMock, ShutdownReturnsAgainstServerThatNeverAnswers) {
  server_->set_fault_fraction(Fault::never_answer(), 1.0);
  Options o = options();
  o.timeout = 800ms;
  Client client = test::make_client(o);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client.record(testing::sample_record()).queued());
  ASSERT_TRUE(server_->wait_for_requests(1, kGenerous));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(client.shutdown(500ms), FlushResult::kTimedOut);
  // A bound on the deadline, not a speed goal: the benchmark reports the exact figure.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  const Stats s = client.stats();
  EXPECT_EQ(s.pending(), 0u);
  EXPECT_EQ(s.dropped_for(DropReason::kShutdown), 10u);
  EXPECT_EQ(s.recorded, s.delivered + s.dropped);
  server_->clear_faults();
}

// A server with this certificate cannot be trusted: no HTTP request reaches it, so the key
// never leaves. The ingest API counts as unreachable: the records are held (not attempts, not
// dropped) while probes fail, the failure is logged once with libcurl's reason, and shutdown
// drops what is held. Returns the client's log lines.
std::vector<std::string> expect_refused(const std::string& cert, const std::string& key,
                                        const std::string& ca_bundle) {
  MockIngestServer server(test::tls_mock_options(cert, key));
  EXPECT_TRUE(server.start()) << server.last_error();
  test::LogCapture logs;
  Options o;
  o.api_key = "secret-key-123";
  o.base_url = server.base_url();
  o.tls.ca_bundle = ca_bundle;
  o.retry.max_retries = 1;
  // Under TSan, loading the system CA store and the handshake can outlast 600 ms; a timeout
  // would then be the last error instead of the TLS refusal this test is about.
  o.timeout = 5s;
  o.outage_probe.min = 10ms;  // probes come quickly
  o.outage_probe.max = 10ms;
  o.on_log = logs.sink();
  Client client = test::make_client(o);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(client.record(testing::sample_record()).queued());
  EXPECT_TRUE(test::eventually([&] { return client.status().unreachable; }, kGenerous));
  const ClientStatus status = client.status();
  EXPECT_NE(status.unreachable_reason.find("tls_error"), std::string::npos) << status.unreachable_reason;
  EXPECT_GE(status.next_probe_at, status.unreachable_since);
  EXPECT_EQ(client.flush(100ms), FlushResult::kTimedOut);  // held, not dropped
  Stats s = client.stats();
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.pending(), 3u);
  EXPECT_EQ(s.requests_sent, 0u);  // no request ever reached the wire
  EXPECT_NE(s.last_error.find("tls_error"), std::string::npos) << s.last_error;
  client.shutdown(100ms);
  s = client.stats();
  EXPECT_EQ(s.dropped_for(DropReason::kShutdown), 3u);
  EXPECT_EQ(s.recorded, s.delivered + s.dropped);
  EXPECT_EQ(server.request_count(), 0u);
  EXPECT_EQ(logs.count("TLS connection to the ingest API failed"), 1u);
  for (const std::string& line : logs.lines()) {
    EXPECT_EQ(line.find(o.api_key), std::string::npos) << line;
  }
  return logs.lines();
}

TEST(HttpsRefusals, UntrustedCertificate) {
  const test::TestPki& pki = test::test_pki();
  ASSERT_TRUE(pki.ok);
  expect_refused(pki.untrusted_cert, pki.untrusted_key, pki.ca);
}

TEST(HttpsRefusals, HostNameMismatch) {
  const test::TestPki& pki = test::test_pki();
  ASSERT_TRUE(pki.ok);
  const std::vector<std::string> lines =
      expect_refused(pki.wrong_host_cert, pki.wrong_host_key, pki.ca);
  // libcurl's reason names the host it expected, 127.0.0.1.
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& line) {
    return line.find("TLS connection") != std::string::npos &&
           line.find("127.0.0.1") != std::string::npos;
  }));
}

TEST(HttpsRefusals, TestCaIsNotTrustedWithoutCaBundle) {
  const test::TestPki& pki = test::test_pki();
  ASSERT_TRUE(pki.ok);
  expect_refused(pki.server_cert, pki.server_key, "");
}

TEST(HttpsRefusals, RedirectIsNeverFollowed) {
  MockIngestServer elsewhere;
  ASSERT_TRUE(elsewhere.start()) << elsewhere.last_error();
  MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  server.push_fault(Fault::redirect(307, elsewhere.base_url() + "/v1/ingest/llm-request"), 2);
  test::LogCapture logs;
  Options o;
  o.api_key = "test-key";
  o.base_url = server.base_url();
  o.timeout = 5s;  // sanitizer builds: a spurious timeout would add a retry
  o.on_log = logs.sink();
  Client client = test::make_client(o);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(client.record(testing::sample_record()).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  const Stats s = client.stats();
  EXPECT_EQ(s.dropped_for(DropReason::kRejected), 2u);
  EXPECT_EQ(s.rejected_with(307), 2u);
  EXPECT_EQ(s.retried, 0u);
  EXPECT_EQ(server.request_count(), 2u);
  EXPECT_EQ(elsewhere.request_count(), 0u);
  EXPECT_EQ(logs.count("redirects are never followed"), 1u);
}

TEST(CleartextRefusal, HttpToAnotherHostGivesDisabledClient) {
  test::LogCapture logs;
  Options o;
  o.api_key = "k";
  o.base_url = "http://ingest.example.com";
  o.on_log = logs.sink();
  Client client = test::make_client(o);
  const ClientStatus st = client.status();
  EXPECT_FALSE(st.enabled);
  EXPECT_NE(st.disabled_reason.find("clear text"), std::string::npos) << st.disabled_reason;
  EXPECT_EQ(client.record(testing::sample_record()).reason, DropReason::kDisabled);
  EXPECT_EQ(logs.count("telemetry disabled"), 1u);
}

TEST(CleartextRefusal, LoopbackAndOptInAreAllowed) {
  for (const char* url : {"http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9",
                          "http://127.1.2.3:9", "https://ingest.example.com"}) {
    Options o;
    o.api_key = "k";
    o.base_url = url;
    o.on_log = [](LogLevel, std::string_view) {};
    o.shutdown_timeout = 0ms;
    Client client = test::make_client(o);
    EXPECT_TRUE(client.status().enabled) << url << ": " << client.status().disabled_reason;
  }
  Options o;
  o.api_key = "k";
  o.base_url = "http://ingest.example.com";
  o.allow_insecure_http = true;
  o.shutdown_timeout = 0ms;
  Client client = test::make_client(o);
  EXPECT_TRUE(client.status().enabled) << client.status().disabled_reason;
}

}  // namespace
}  // namespace opsmeter
