// The client through a real HTTP proxy (tinyproxy, started by the test on loopback): an https
// target through a CONNECT tunnel, an http target forwarded by the proxy, proxy credentials
// that never reach the logs, the environment read once at start, and no_proxy.
#include <gtest/gtest.h>

#include "test_client.hpp"
#include "capture.hpp"
#include "opsmeter/client.hpp"
#include "opsmeter/testing/mock_ingest_server.hpp"
#include "opsmeter/testing/support.hpp"
#include "peers.hpp"

namespace opsmeter {
namespace {

using namespace std::chrono_literals;
using testing::MockIngestOptions;
using testing::MockIngestServer;

constexpr auto kGenerous = 10s;

Options client_options(const MockIngestServer& server, test::LogCapture& logs) {
  Options o;
  o.api_key = "test-key";
  o.base_url = server.base_url();
  o.tls.ca_bundle = test::test_pki().ca;
  o.timeout = 5s;
  o.max_in_flight = 2;
  o.log_level = LogLevel::kDebug;
  o.on_log = logs.sink();
  return o;
}

void deliver(Client& client, int n) {
  for (int i = 0; i < n; ++i) ASSERT_TRUE(client.record(testing::sample_record()).queued());
  ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
  EXPECT_EQ(client.stats().delivered, static_cast<std::uint64_t>(n)) << client.stats().last_error;
}

// The proxy environment of the test machine must not leak into these tests.
class ProxyIntegration : public ::testing::Test {
 protected:
  test::ScopedEnv env_[7] = {{"https_proxy", nullptr}, {"HTTPS_PROXY", nullptr},
                             {"http_proxy", nullptr},  {"all_proxy", nullptr},
                             {"ALL_PROXY", nullptr},   {"no_proxy", nullptr},
                             {"NO_PROXY", nullptr}};
  test::LogCapture logs_;
};

TEST_F(ProxyIntegration, HttpsTargetGoesThroughConnectTunnelFromEnvironment) {
  const test::TestPki& pki = test::test_pki();
  ASSERT_TRUE(pki.ok);
  MockIngestOptions tls;
  tls.tls_cert_file = pki.server_cert;
  tls.tls_key_file = pki.server_key;
  MockIngestServer server(tls);
  ASSERT_TRUE(server.start()) << server.last_error();
  test::Tinyproxy proxy;
  ASSERT_TRUE(proxy.start());
  test::ScopedEnv https_proxy("https_proxy", proxy.url().c_str());
  Client client = test::make_client(client_options(server, logs_));
  deliver(client, 6);
  EXPECT_EQ(server.stored_count(), 6u);
  const std::string log = proxy.log();
  EXPECT_NE(log.find("): CONNECT 127.0.0.1:" + std::to_string(server.port())), std::string::npos)
      << log;
  EXPECT_EQ(log.find("): POST "), std::string::npos) << log;  // the proxy never saw the request
}

TEST_F(ProxyIntegration, HttpTargetIsForwardedNotTunnelled) {
  MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  test::Tinyproxy proxy;
  ASSERT_TRUE(proxy.start());
  Options o = client_options(server, logs_);
  o.proxy.url = proxy.url();
  Client client = test::make_client(o);
  deliver(client, 4);
  EXPECT_EQ(server.stored_count(), 4u);
  const std::string log = proxy.log();
  EXPECT_NE(log.find("): POST " + server.base_url() + "/v1/ingest/llm-request"), std::string::npos)
      << log;
  EXPECT_EQ(log.find("): CONNECT "), std::string::npos) << log;
}

TEST_F(ProxyIntegration, ProxyCredentialsAreUsedAndNeverLogged) {
  MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  test::Tinyproxy proxy;
  ASSERT_TRUE(proxy.start("opsuser", "pr0xy-s3cret"));
  {
    Options o = client_options(server, logs_);
    o.proxy.url = "http://opsuser:pr0xy-s3cret@127.0.0.1:" + std::to_string(proxy.port());
    Client client = test::make_client(o);
    deliver(client, 3);  // tinyproxy answers 407 without the right credentials
  }
  {
    Options o = client_options(server, logs_);
    o.proxy.url = "http://opsuser:wrong-s3cret@127.0.0.1:" + std::to_string(proxy.port());
    o.retry.max_retries = 0;
    Client client = test::make_client(o);
    ASSERT_TRUE(client.record(testing::sample_record()).queued());
    ASSERT_EQ(client.flush(kGenerous), FlushResult::kFlushed);
    // tinyproxy refuses the credentials and resets the connection.
    EXPECT_EQ(client.stats().delivered, 0u);
    EXPECT_EQ(client.stats().dropped, 1u);
    EXPECT_EQ(client.stats().last_error.find("s3cret"), std::string::npos);
  }
  {
    Options o = client_options(server, logs_);
    o.proxy.url = "http://opsuser:dead-s3cret@127.0.0.1:" +
              std::to_string(testing::unused_loopback_port());
    o.retry.max_retries = 0;
    Client client = test::make_client(o);
    ASSERT_TRUE(client.record(testing::sample_record()).queued());
    // No proxy to connect to: the ingest API is unreachable and the record is held.
    ASSERT_TRUE(test::eventually([&] { return client.status().unreachable; }, kGenerous));
    EXPECT_EQ(client.status().unreachable_reason.find("s3cret"), std::string::npos);
    EXPECT_EQ(client.stats().last_error.find("s3cret"), std::string::npos);
    client.shutdown(100ms);
    EXPECT_EQ(client.stats().dropped_for(DropReason::kShutdown), 1u);
  }
  EXPECT_EQ(server.stored_count(), 3u);
  // The start-up line names the proxy, without its credentials.
  EXPECT_EQ(logs_.count("via proxy http://127.0.0.1:" + std::to_string(proxy.port())), 2u);
  for (const std::string& line : logs_.lines()) {
    EXPECT_EQ(line.find("s3cret"), std::string::npos) << line;
  }
}

TEST_F(ProxyIntegration, EnvironmentIsReadOnceWhenTheClientStarts) {
  MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  test::Tinyproxy proxy;
  ASSERT_TRUE(proxy.start());
  test::ScopedEnv http_proxy("http_proxy", proxy.url().c_str());
  Client client = test::make_client(client_options(server, logs_));
  // Changed after the start: libcurl would pick this up per transfer if it read the
  // environment itself, and every record would fail against the dead proxy.
  const std::string dead = "http://127.0.0.1:" + std::to_string(testing::unused_loopback_port());
  setenv("http_proxy", dead.c_str(), 1);
  deliver(client, 3);
  EXPECT_NE(proxy.log().find("POST " + server.base_url()), std::string::npos);
}

TEST_F(ProxyIntegration, NoProxyBypassesTheProxy) {
  MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  Options o = client_options(server, logs_);
  o.proxy.url = "http://127.0.0.1:" + std::to_string(testing::unused_loopback_port());  // dead
  o.proxy.no_proxy = "127.0.0.1";
  Client client = test::make_client(o);
  deliver(client, 3);
  EXPECT_EQ(server.stored_count(), 3u);
}

}  // namespace
}  // namespace opsmeter
