// Option validation and normalisation.
#include "options.hpp"

#include <algorithm>

namespace opsmeter::detail {
namespace {

constexpr Millis kMinTimeout{300};
constexpr Millis kMaxTimeout{800};

bool visible_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::string check_base_url(std::string& url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.empty()) return "base_url is empty";
  if (!visible_ascii(url)) return "base_url contains spaces or control characters";
  const bool http = url.rfind("http://", 0) == 0;
  const bool https = url.rfind("https://", 0) == 0;
  if (!http && !https) return "base_url must start with http:// or https://";
  if (url.size() == (http ? 7u : 8u)) return "base_url has no host";
  return {};
}

template <typename T>
T clamp_with_warning(T value, T low, T high, const char* name, std::vector<std::string>& warnings) {
  const T clamped = std::clamp(value, low, high);
  if (clamped != value) {
    warnings.push_back(std::string(name) + " out of range; using " + std::to_string(clamped));
  }
  return clamped;
}

Millis clamp_ms(Millis value, Millis low, Millis high, const char* name,
                std::vector<std::string>& warnings) {
  return Millis(clamp_with_warning<Millis::rep>(value.count(), low.count(), high.count(), name,
                                                warnings));
}

}  // namespace

Config finalize_options(Options options) {
  Config config;
  std::vector<std::string>& warnings = config.warnings;
  warnings = options.config_warnings;
  if (!options.enabled) {
    config.disabled_reason = "disabled by configuration (enabled = false / OPSMETER_ENABLED)";
  } else if (options.dry_run) {
    // A dry run sends nothing, so it needs neither a key nor a reachable URL.
  } else if (options.api_key.empty()) {
    config.disabled_reason = "api_key is missing";
  } else if (!visible_ascii(options.api_key)) {
    config.disabled_reason = "api_key contains spaces or control characters";
  }
  std::string url_error = check_base_url(options.base_url);
  if (config.disabled_reason.empty() && !options.dry_run && !url_error.empty()) {
    config.disabled_reason = url_error;
  }

  if (!options.allow_any_timeout) {
    options.timeout = clamp_ms(options.timeout, kMinTimeout, kMaxTimeout, "timeout", warnings);
  } else {
    options.timeout = clamp_ms(options.timeout, Millis(1), Millis(600000), "timeout", warnings);
  }
  options.queue_capacity = clamp_with_warning<std::size_t>(options.queue_capacity, 1, 1000000,
                                                           "queue_capacity", warnings);
  options.max_in_flight =
      clamp_with_warning<std::size_t>(options.max_in_flight, 1, 64, "max_in_flight", warnings);
  options.max_retries = clamp_with_warning(options.max_retries, 0, 10, "max_retries", warnings);
  const Millis day{86400000};
  options.retry_base_delay = clamp_ms(options.retry_base_delay, Millis(1), day, "retry_base_delay", warnings);
  options.retry_max_delay =
      clamp_ms(options.retry_max_delay, options.retry_base_delay, day, "retry_max_delay", warnings);
  options.max_retry_after = clamp_ms(options.max_retry_after, Millis(0), day, "max_retry_after", warnings);
  options.pause_window = clamp_ms(options.pause_window, Millis(1), day, "pause_window", warnings);
  options.max_record_age = clamp_ms(options.max_record_age, Millis(1), day, "max_record_age", warnings);
  options.shutdown_timeout =
      clamp_ms(options.shutdown_timeout, Millis(0), Millis(60000), "shutdown_timeout", warnings);

  config.ingest_url = options.base_url + "/v1/ingest/llm-request";
  config.policy.max_retries = options.max_retries;
  config.policy.retry_base_delay = options.retry_base_delay;
  config.policy.retry_max_delay = options.retry_max_delay;
  config.policy.max_retry_after = options.max_retry_after;
  config.policy.pause_window = options.pause_window;
  config.options = std::move(options);
  return config;
}

}  // namespace opsmeter::detail
