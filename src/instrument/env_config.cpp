// Options from the environment: read once, each variable through its own parser; a bad value
// keeps the base's value, is logged and is kept in Options::environment_errors.
#include <strings.h>

#include <cstdlib>
#include <functional>
#include <optional>
#include <string>

#include "base/log.hpp"
#include "base/text.hpp"
#include "instrument/env_config.hpp"
#include "opsmeter/client.hpp"

namespace opsmeter {
namespace {

using detail::EnvVariable;

std::optional<bool> parse_bool(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (lower == "1" || lower == "true" || lower == "yes" || lower == "on") return true;
  if (lower == "0" || lower == "false" || lower == "no" || lower == "off") return false;
  return std::nullopt;
}

std::optional<long long> parse_int(std::string_view text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  long long value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

using Apply = std::function<bool(Options&, std::string_view)>;  // false: invalid value

struct Entry {
  EnvVariable variable;
  Apply apply;
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> kEntries = {
      {{"OPSMETER_API_KEY", "api_key"},
       [](Options& o, std::string_view v) { o.api_key = v; return true; }},
      {{"OPSMETER_BASE_URL", "base_url (legacy name)"},
       [](Options& o, std::string_view v) { o.base_url = v; return true; }},
      {{"OPSMETER_API_BASE_URL", "base_url"},  // after the legacy name, so it wins
       [](Options& o, std::string_view v) { o.base_url = v; return true; }},
      {{"OPSMETER_ENVIRONMENT", "environment"},
       [](Options& o, std::string_view v) {
         const auto e = parse_environment(v);
         if (e) o.environment = *e;
         return e.has_value();
       }},
      {{"OPSMETER_DATA_MODE", "data_mode"},
       [](Options& o, std::string_view v) {
         const auto m = parse_data_mode(v);
         if (m) o.data_mode = *m;
         return m.has_value();
       }},
      {{"OPSMETER_CA_BUNDLE", "tls.ca_bundle"},
       [](Options& o, std::string_view v) { o.tls.ca_bundle = v; return true; }},
      {{"OPSMETER_CA_PATH", "tls.ca_path"},
       [](Options& o, std::string_view v) { o.tls.ca_path = v; return true; }},
      {{"OPSMETER_USER_ID_SALT", "user_id_salt"},
       [](Options& o, std::string_view v) { o.user_id_salt = v; return true; }},
      {{"OPSMETER_ENDPOINT_TAG", "endpoint_tag"},
       [](Options& o, std::string_view v) { o.endpoint_tag = v; return true; }},
      {{"OPSMETER_PROMPT_VERSION", "prompt_version"},
       [](Options& o, std::string_view v) { o.prompt_version = v; return true; }},
      {{"OPSMETER_TENANT_ID", "tenant_id"},
       [](Options& o, std::string_view v) { o.tenant_id = v; return true; }},
      {{"OPSMETER_FEATURE_TAG", "feature"},
       [](Options& o, std::string_view v) { o.feature = v; return true; }},
      {{"OPSMETER_SPOOL_DIR", "spool.dir"},
       [](Options& o, std::string_view v) { o.spool.dir = v; return true; }},
      {{"OPSMETER_TIMEOUT_MS", "timeout"},
       [](Options& o, std::string_view v) {
         const auto ms = parse_int(v);
         if (ms) o.timeout = std::chrono::milliseconds(*ms);
         return ms.has_value();
       }},
      {{"OPSMETER_ENABLED", "enabled"},
       [](Options& o, std::string_view v) {
         const auto b = parse_bool(v);
         if (b) o.enabled = *b;
         return b.has_value();
       }},
      {{"OPSMETER_DRY_RUN", "dry_run"},
       [](Options& o, std::string_view v) {
         const auto b = parse_bool(v);
         if (b) o.dry_run = *b;
         return b.has_value();
       }},
      {{"OPSMETER_LOG_LEVEL", "log_level"},
       [](Options& o, std::string_view v) {
         for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
           if (strcasecmp(std::string(v).c_str(), std::string(to_string(level)).c_str()) == 0) {
             o.log_level = level;
             return true;
           }
         }
         return false;
       }},
  };
  return kEntries;
}

}  // namespace

namespace detail {

const std::vector<EnvVariable>& env_registry() {
  static const std::vector<EnvVariable> kNames = [] {
    std::vector<EnvVariable> names;
    for (const Entry& e : entries()) names.push_back(e.variable);
    return names;
  }();
  return kNames;
}

}  // namespace detail

Options Options::from_environment() { return from_environment(Options{}); }

Options Options::from_environment(Options base) {
  std::optional<detail::Logger> logger;  // made at the first invalid value
  for (const Entry& entry : entries()) {
    const std::string name(entry.variable.name);
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') continue;
    if (!entry.apply(base, value)) {
      // Bytes that are not printable ASCII are shown escaped, so that the line stays one line
      // and valid UTF-8 wherever it goes.
      const std::string shown = name == "OPSMETER_API_KEY" ? std::string("(hidden)") : detail::log_safe(value, 80);
      std::string line = name + " has an invalid value \"" + shown + "\"; ignored, " +
                         std::string(entry.variable.option) + " keeps its value";
      if (!logger) logger.emplace(base.log_level, base.on_log);
      logger->log(LogLevel::kWarn, line);
      base.environment_errors.push_back(std::move(line));
    }
  }
  return base;
}

}  // namespace opsmeter
