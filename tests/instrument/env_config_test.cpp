// Options from the environment: every registered variable, invalid values, and the README's
// table against the registry.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <regex>
#include <set>

#include "instrument/env_config.hpp"
#include "opsmeter/client.hpp"

namespace opsmeter {
namespace {

class EnvConfig : public ::testing::Test {
 protected:
  void SetUp() override { clear(); }
  void TearDown() override { clear(); }
  static void clear() {
    for (const auto& v : detail::env_registry()) unsetenv(std::string(v.name).c_str());
  }
};

TEST_F(EnvConfig, FillsEveryOption) {
  setenv("OPSMETER_API_KEY", "key-123", 1);
  setenv("OPSMETER_API_BASE_URL", "http://127.0.0.1:9/", 1);
  setenv("OPSMETER_BASE_URL", "http://legacy.invalid", 1);
  setenv("OPSMETER_ENVIRONMENT", "staging", 1);
  setenv("OPSMETER_DATA_MODE", "test", 1);
  setenv("OPSMETER_ENDPOINT_TAG", "support.reply", 1);
  setenv("OPSMETER_PROMPT_VERSION", "v7", 1);
  setenv("OPSMETER_TIMEOUT_MS", "450", 1);
  setenv("OPSMETER_ENABLED", "yes", 1);
  setenv("OPSMETER_DRY_RUN", "TRUE", 1);
  setenv("OPSMETER_LOG_LEVEL", "Info", 1);
  int warnings = 0;
  Options base;
  base.on_log = [&warnings](LogLevel level, std::string_view) { warnings += level == LogLevel::kWarn; };
  const Options o = Options::from_environment(base);
  EXPECT_EQ(o.api_key, "key-123");
  EXPECT_EQ(o.base_url, "http://127.0.0.1:9/");  // the current name wins over the legacy one
  EXPECT_EQ(o.environment, Environment::kStaging);
  EXPECT_EQ(o.data_mode, DataMode::kTest);
  EXPECT_EQ(o.endpoint_tag, "support.reply");
  EXPECT_EQ(o.prompt_version, "v7");
  EXPECT_EQ(o.timeout, std::chrono::milliseconds(450));
  EXPECT_TRUE(o.enabled);
  EXPECT_TRUE(o.dry_run);
  EXPECT_EQ(o.log_level, LogLevel::kInfo);
  EXPECT_EQ(warnings, 0);
}

TEST_F(EnvConfig, LegacyBaseUrlAlone) {
  setenv("OPSMETER_BASE_URL", "http://127.0.0.1:7", 1);
  EXPECT_EQ(Options::from_environment().base_url, "http://127.0.0.1:7");
}

TEST_F(EnvConfig, InvalidValuesWarnAndKeepDefaults) {
  setenv("OPSMETER_ENVIRONMENT", "production", 1);
  setenv("OPSMETER_DATA_MODE", "REAL!", 1);
  setenv("OPSMETER_TIMEOUT_MS", "fast", 1);
  setenv("OPSMETER_ENABLED", "maybe", 1);
  std::vector<std::string> warnings;
  Options base;
  base.api_key = "from-code";
  base.on_log = [&warnings](LogLevel level, std::string_view line) {
    if (level == LogLevel::kWarn) warnings.emplace_back(line);
  };
  const Options o = Options::from_environment(base);
  EXPECT_EQ(o.api_key, "from-code");  // unset variables leave the base alone
  EXPECT_EQ(o.environment, Environment::kProd);
  EXPECT_EQ(o.data_mode, DataMode::kReal);
  EXPECT_EQ(o.timeout, std::chrono::milliseconds(600));
  EXPECT_TRUE(o.enabled);
  ASSERT_EQ(warnings.size(), 4u);
  EXPECT_NE(warnings[0].find("OPSMETER_ENVIRONMENT has an invalid value \"production\"; ignored, environment keeps its value"),
            std::string::npos);
  // The same lines, kept in the options for status() and `opsmeter doctor`.
  EXPECT_EQ(o.environment_errors, warnings);
}

TEST_F(EnvConfig, InvalidBytesAreShownEscapedOnOneLine) {
  setenv("OPSMETER_ENVIRONMENT", "prod\n\xff", 1);
  const Options o = Options::from_environment();
  ASSERT_EQ(o.environment_errors.size(), 1u);
  EXPECT_NE(o.environment_errors[0].find("\"prod\\x0a\\xff\""), std::string::npos) << o.environment_errors[0];
}

TEST_F(EnvConfig, ReadmeTableMatchesRegistry) {
  std::ifstream readme(OPSMETER_README);
  ASSERT_TRUE(readme.good());
  // The rows of the table under "### Configuration from the environment" (other tables name
  // OPSMETER_* CMake options).
  std::set<std::string> documented;
  const std::regex row(R"(^\| `(OPSMETER_[A-Z_]+)` \|)");
  bool in_section = false;
  for (std::string line; std::getline(readme, line);) {
    if (line.rfind("#", 0) == 0) in_section = line == "### Configuration from the environment";
    std::smatch m;
    if (in_section && std::regex_search(line, m, row)) documented.insert(m[1]);
  }
  std::set<std::string> registered;
  for (const auto& v : detail::env_registry()) registered.insert(std::string(v.name));
  EXPECT_EQ(documented, registered);
}

}  // namespace
}  // namespace opsmeter
