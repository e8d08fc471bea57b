// Options checked into a Config: which base URLs give a disabled client, and why, without the
// reason ever repeating credentials.
#include <gtest/gtest.h>

#include <ostream>

#include "delivery/options.hpp"

namespace opsmeter::detail {
namespace {

struct UrlRow {
  const char* name;
  const char* base_url;
  const char* reason_part;  // "" when the client stays enabled
};

void PrintTo(const UrlRow& row, std::ostream* os) { *os << row.name; }

class BaseUrlTable : public ::testing::TestWithParam<UrlRow> {};

TEST_P(BaseUrlTable, Checks) {
  const UrlRow& row = GetParam();
  Options o;
  o.api_key = "k";
  o.base_url = row.base_url;
  const Config config = finalize_options(o);
  if (*row.reason_part == '\0') {
    EXPECT_EQ(config.disabled_reason, "");
  } else {
    EXPECT_NE(config.disabled_reason.find(row.reason_part), std::string::npos) << config.disabled_reason;
  }
  EXPECT_EQ(config.disabled_reason.find("s3cret"), std::string::npos) << config.disabled_reason;
}

INSTANTIATE_TEST_SUITE_P(
    Urls, BaseUrlTable,
    ::testing::Values(UrlRow{"https", "https://api.opsmeter.io", ""},
                      UrlRow{"trailing_slash", "https://api.opsmeter.io/", ""},
                      UrlRow{"path_prefix", "https://gateway.internal/opsmeter", ""},
                      UrlRow{"loopback_http", "http://127.0.0.1:8080", ""},
                      UrlRow{"ftp", "ftp://example", "must start with http:// or https://"},
                      UrlRow{"no_host", "https://", "must start with http:// or https://"},  // "https:"
                      UrlRow{"port_only", "https://:443", "not a URL libcurl can parse"},
                      UrlRow{"query", "https://api.opsmeter.io/?x=1", "has a query"},
                      UrlRow{"fragment", "https://api.opsmeter.io#top", "has a fragment"},
                      UrlRow{"credentials", "https://user:s3cret@api.opsmeter.io", "user credentials"},
                      UrlRow{"user_only", "https://s3cret@api.opsmeter.io", "user credentials"},
                      UrlRow{"unparseable", "https://s3cret@[::1", "not a URL libcurl can parse"},
                      UrlRow{"cleartext_remote", "http://api.opsmeter.io", "clear text"}),
    [](const ::testing::TestParamInfo<UrlRow>& row) { return std::string(row.param.name); });

TEST(Options, MaxRetryAfterIsAtLeastTheThrottleFloor) {
  Options o;
  o.api_key = "k";
  o.retry.max_retry_after = std::chrono::milliseconds(0);
  const Config config = finalize_options(o);
  EXPECT_EQ(config.policy.max_retry_after, kMinThrottle);
  ASSERT_EQ(config.warnings.size(), 1u);
  EXPECT_NE(config.warnings[0].find("retry.max_retry_after out of range"), std::string::npos);
}

TEST(Options, QueueBoundsAreClampedWithAWarning) {
  Options o;
  o.api_key = "k";
  EXPECT_EQ(finalize_options(o).options.queue.capacity, 100000u);  // the defaults
  EXPECT_EQ(finalize_options(o).options.queue.max_bytes, std::size_t{32} << 20);
  o.queue.capacity = 0;
  o.queue.max_bytes = 1;
  Config config = finalize_options(o);
  EXPECT_EQ(config.options.queue.capacity, 1u);
  EXPECT_EQ(config.options.queue.max_bytes, std::size_t{64} << 10);
  ASSERT_EQ(config.warnings.size(), 2u);
  EXPECT_NE(config.warnings[1].find("queue.max_bytes out of range"), std::string::npos);
  o.queue.capacity = 5000000;
  o.queue.max_bytes = std::size_t{1} << 40;
  config = finalize_options(o);
  EXPECT_EQ(config.options.queue.capacity, 1000000u);
  EXPECT_EQ(config.options.queue.max_bytes, std::size_t{16} << 30);
}

}  // namespace
}  // namespace opsmeter::detail

namespace opsmeter::detail {
namespace {

// The startup line: the effective configuration, never the key or a proxy's password.
TEST(Options, TheStartupLineGivesTheEffectiveConfiguration) {
  Options o;
  o.api_key = "secret-key-123";
  o.base_url = "https://api.opsmeter.io";
  o.proxy.url = "http://user:proxy-pass@proxy.internal:3128";
  o.queue.capacity = 5000;
  o.queue.max_bytes = std::size_t{8} << 20;
  o.spool.dir = "/var/spool/opsmeter";
  const std::string line = describe_delivery(finalize_options(o));
  for (const char* part : {"sending telemetry to https://api.opsmeter.io/v1/ingest/llm-request",
                           "via proxy", "TLS trusts the system CA store", "queue 5000 records / 8.0 MiB",
                           "timeout 600 ms, 4 requests in flight", "spool /var/spool/opsmeter", "opsmeter-cpp 0."}) {
    EXPECT_NE(line.find(part), std::string::npos) << part << "\n" << line;
  }
  EXPECT_EQ(line.find("secret-key-123"), std::string::npos) << line;
  EXPECT_EQ(line.find("proxy-pass"), std::string::npos) << line;
}

}  // namespace
}  // namespace opsmeter::detail
