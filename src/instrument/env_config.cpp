// Options from the environment: read once, each variable through its own parser; a bad value
// keeps the base's value, is logged and is kept in Options::environment_errors.
#include <strings.h>

#include <chrono>
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

// The option `field` selects, set to the value `parse` reads, when it reads one (a text option
// reads any value).
template <typename Field>
Apply text(Field field) {
  return [field](Options& o, std::string_view v) {
    field(o) = std::string(v);
    return true;
  };
}
template <typename Parse, typename Field>
Apply parsed(Parse parse, Field field) {
  return [parse, field](Options& o, std::string_view v) {
    const auto value = parse(v);
    if (value) field(o) = *value;
    return value.has_value();
  };
}

std::optional<std::chrono::milliseconds> parse_ms(std::string_view text) {
  const std::optional<long long> ms = parse_int(text);
  if (!ms) return std::nullopt;
  return std::chrono::milliseconds(*ms);
}

const std::vector<Entry>& entries() {
  static const std::vector<Entry> kEntries = {
      {{"OPSMETER_API_KEY", "api_key"}, text([](Options& o) -> std::string& { return o.api_key; })},
      {{"OPSMETER_BASE_URL", "base_url (legacy name)"}, text([](Options& o) -> std::string& { return o.base_url; })},
      // after the legacy name, so it wins
      {{"OPSMETER_API_BASE_URL", "base_url"}, text([](Options& o) -> std::string& { return o.base_url; })},
      {{"OPSMETER_ENVIRONMENT", "environment"},
       parsed(parse_environment, [](Options& o) -> Environment& { return o.environment; })},
      {{"OPSMETER_DATA_MODE", "data_mode"}, parsed(parse_data_mode, [](Options& o) -> DataMode& { return o.data_mode; })},
      {{"OPSMETER_CA_BUNDLE", "tls.ca_bundle"}, text([](Options& o) -> std::string& { return o.tls.ca_bundle; })},
      {{"OPSMETER_CA_PATH", "tls.ca_path"}, text([](Options& o) -> std::string& { return o.tls.ca_path; })},
      {{"OPSMETER_USER_ID_SALT", "user_id_salt"}, text([](Options& o) -> std::string& { return o.user_id_salt; })},
      {{"OPSMETER_ENDPOINT_TAG", "endpoint_tag"}, text([](Options& o) -> std::string& { return o.endpoint_tag; })},
      {{"OPSMETER_PROMPT_VERSION", "prompt_version"},
       text([](Options& o) -> std::string& { return o.prompt_version; })},
      {{"OPSMETER_TENANT_ID", "tenant_id"}, text([](Options& o) -> std::string& { return o.tenant_id; })},
      {{"OPSMETER_FEATURE_TAG", "feature"}, text([](Options& o) -> std::string& { return o.feature; })},
      {{"OPSMETER_SPOOL_DIR", "spool.dir"}, text([](Options& o) -> std::string& { return o.spool.dir; })},
      {{"OPSMETER_TIMEOUT_MS", "timeout"},
       parsed(parse_ms, [](Options& o) -> std::chrono::milliseconds& { return o.timeout; })},
      {{"OPSMETER_ENABLED", "enabled"}, parsed(parse_bool, [](Options& o) -> bool& { return o.enabled; })},
      {{"OPSMETER_DRY_RUN", "dry_run"}, parsed(parse_bool, [](Options& o) -> bool& { return o.dry_run; })},
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
