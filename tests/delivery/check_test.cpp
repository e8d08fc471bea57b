// Client::check() and check_workspace() against the mock server and hostile peers: the
// workspace status when all is well, and a typed error with a usable hint for each set-up
// mistake (wrong key, a base URL ending in /v1, nothing listening, an untrusted certificate,
// a server that never finishes answering).
#include <gtest/gtest.h>

#include "capture.hpp"
#include "hostile.hpp"
#include "opsmeter/check.hpp"
#include "opsmeter/testing/mock_ingest_server.hpp"
#include "opsmeter/testing/support.hpp"
#include "peers.hpp"
#include "test_client.hpp"
#include "tls_mock.hpp"

namespace opsmeter {
namespace {

using namespace std::chrono_literals;

Options options_for(const std::string& base_url, const std::string& key = "test-key") {
  Options o;
  o.api_key = key;
  o.base_url = base_url;
  o.on_log = [](LogLevel, std::string_view) {};
  return o;
}

TEST(Check, ReportsTheWorkspaceStatus) {
  testing::MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  server.set_budget_flags(true, false);
  const Client client = test::make_client(options_for(server.base_url()));
  const CheckResult r = client.check(5s);
  ASSERT_TRUE(r.ok()) << to_string(r.error) << ": " << r.detail;
  EXPECT_EQ(r.http_status, 200);
  ASSERT_TRUE(r.status.has_value());
  EXPECT_EQ(r.status->workspace_id, "ws_mock");
  EXPECT_EQ(r.status->severity, "warning");
  EXPECT_EQ(r.status->is_budget_warning, true);
  EXPECT_EQ(r.status->is_budget_exceeded, false);
  EXPECT_EQ(r.status->provider_calls_continue, true);
  EXPECT_EQ(r.status->plan_tier, "Free");
  EXPECT_EQ(r.status->current_request_count, 0);
  EXPECT_EQ(server.request_count(), 0u);  // a check is not an ingest request
  EXPECT_TRUE(r.connection.resolved);
  EXPECT_TRUE(r.connection.connected);
  EXPECT_FALSE(r.connection.tls_handshake);  // plain http
  EXPECT_EQ(r.connection.remote_address, "127.0.0.1");
  EXPECT_EQ(r.connection.http_version, "HTTP/1.1");
  EXPECT_GT(r.connection.total_time.count(), 0);
}

TEST(Check, ReportsTheTlsConnectionAndCertificate) {
  const test::TestPki& pki = test::test_pki();
  ASSERT_TRUE(pki.ok);
  testing::MockIngestServer server(test::tls_mock_options());
  ASSERT_TRUE(server.start()) << server.last_error();
  Options o = options_for(server.base_url());
  o.tls.ca_bundle = pki.ca;
  const CheckResult r = check_workspace(o, 5s);
  ASSERT_TRUE(r.ok()) << to_string(r.error) << ": " << r.detail;
  EXPECT_TRUE(r.connection.tls_handshake);
  EXPECT_NE(r.connection.tls_subject.find("CN = server"), std::string::npos) << r.connection.tls_subject;
  EXPECT_FALSE(r.connection.tls_issuer.empty());
  EXPECT_NE(r.connection.tls_expires.find("GMT"), std::string::npos) << r.connection.tls_expires;
  EXPECT_GE(r.connection.tls_time, r.connection.connect_time);
}

TEST(Check, WrongKeyIsUnauthorized) {
  testing::MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  const CheckResult r = check_workspace(options_for(server.base_url(), "wrong-key"), 5s);
  EXPECT_EQ(r.error, CheckError::kUnauthorized);
  EXPECT_EQ(r.http_status, 401);
  EXPECT_NE(r.detail.find("OPSMETER_API_KEY"), std::string::npos) << r.detail;
  EXPECT_EQ(r.detail.find("wrong-key"), std::string::npos) << r.detail;
}

TEST(Check, BaseUrlEndingInV1IsNotFoundWithTheHint) {
  testing::MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  const CheckResult r = check_workspace(options_for(server.base_url() + "/v1"), 5s);
  EXPECT_EQ(r.error, CheckError::kNotFound);
  EXPECT_EQ(r.http_status, 404);
  EXPECT_NE(r.detail.find("ends in /v1"), std::string::npos) << r.detail;
}

TEST(Check, NothingListeningIsUnreachable) {
  const std::string url = "http://127.0.0.1:" + std::to_string(testing::unused_loopback_port());
  const CheckResult r = check_workspace(options_for(url), 5s);
  EXPECT_EQ(r.error, CheckError::kUnreachable);
  EXPECT_EQ(r.http_status, 0);
  EXPECT_NE(r.detail.find("OPSMETER_API_BASE_URL"), std::string::npos) << r.detail;
  EXPECT_TRUE(r.connection.resolved);  // an IP address
  EXPECT_FALSE(r.connection.connected);
}

TEST(Check, NameThatDoesNotResolveIsUnreachableBeforeConnecting) {
  const CheckResult r = check_workspace(options_for("https://opsmeter-check.invalid"), 5s);
  EXPECT_EQ(r.error, CheckError::kUnreachable) << r.detail;
  EXPECT_FALSE(r.connection.resolved);
  EXPECT_FALSE(r.connection.connected);
}

TEST(Check, UntrustedCertificateIsTls) {
  const test::TestPki& pki = test::test_pki();
  ASSERT_TRUE(pki.ok);
  testing::MockIngestServer server(test::tls_mock_options(pki.untrusted_cert, pki.untrusted_key));
  ASSERT_TRUE(server.start()) << server.last_error();
  Options o = options_for(server.base_url());
  o.tls.ca_bundle = pki.ca;
  const CheckResult r = check_workspace(o, 5s);
  EXPECT_EQ(r.error, CheckError::kTls);
  EXPECT_NE(r.detail.find("ca_bundle"), std::string::npos) << r.detail;
  EXPECT_TRUE(r.connection.connected);
  EXPECT_FALSE(r.connection.tls_handshake);
}

TEST(Check, AnswerThatNeverEndsTimesOut) {
  test::HostileServer server(test::HostileServer::Mode::kTrickle);
  ASSERT_TRUE(server.ok());
  const CheckResult r = check_workspace(options_for(server.base_url()), 300ms);
  EXPECT_EQ(r.error, CheckError::kTimeout) << to_string(r.error) << ": " << r.detail;
}

TEST(Check, DisabledClientSaysWhy) {
  const Client client = test::make_client(options_for("https://api.opsmeter.io", ""));
  const CheckResult r = client.check(1s);
  EXPECT_EQ(r.error, CheckError::kDisabled);
  EXPECT_EQ(r.detail, "api_key is missing");
}

// The contract's example body, and bodies that are not what they should be.
TEST(WorkspaceStatusParse, ContractExampleAndLeniency) {
  const auto s = parse_workspace_status(
      R"({"workspaceId":"ws_1","isPlanLimitReached":false,"telemetryPaused":false,"providerCallsContinue":true,)"
      R"("isBudgetWarning":true,"isBudgetExceeded":false,"severity":"warning",)"
      R"("plan":{"planTier":"starter","planName":"Starter","currentRequestCount":98231,"planRequestLimit":100000,)"
      R"("remainingRequestCount":1769,"isPlanLimitReached":false,"telemetryPaused":false},)"
      R"("budget":{"warningThresholdRatio":0.8,"daily":{"limitUsd":50,"currentSpendUsd":41.25,)"
      R"("utilizationRatio":0.825,"isWarning":true,"isExceeded":false,"period":"daily"},)"
      R"("monthly":{"limitUsd":500,"currentSpendUsd":412.55,"utilizationRatio":0.8251,"isWarning":true,)"
      R"("isExceeded":false,"period":"monthly"}},"somethingNew":[1,2]})");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->plan_name, "Starter");
  EXPECT_EQ(s->remaining_request_count, 1769);
  ASSERT_TRUE(s->daily.has_value());
  EXPECT_DOUBLE_EQ(*s->daily->current_spend_usd, 41.25);
  ASSERT_TRUE(s->monthly.has_value());
  EXPECT_EQ(s->monthly->is_warning, true);
  const auto odd = parse_workspace_status(R"({"severity":3,"plan":"none","budget":{"daily":null}})");
  ASSERT_TRUE(odd.has_value());
  EXPECT_FALSE(odd->severity.has_value());
  EXPECT_FALSE(odd->plan_tier.has_value());
  EXPECT_FALSE(odd->daily.has_value());
  EXPECT_FALSE(parse_workspace_status("[1,2]").has_value());
  EXPECT_FALSE(parse_workspace_status("<html>").has_value());
}

}  // namespace
}  // namespace opsmeter
