// Option validation and normalisation.
#include "delivery/options.hpp"

#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>

#include "opsmeter/version.hpp"

namespace opsmeter::detail {
namespace {

constexpr Millis kMinTimeout{300};
constexpr Millis kMaxTimeout{800};

bool visible_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// One part of `url` as libcurl parses it (the host, or with `drop_credentials` the whole URL
// without user and password), so that checks and logs see what libcurl will connect to.
// "" if libcurl cannot parse it.
std::string url_part(const std::string& url, CURLUPart part, bool drop_credentials) {
  std::string out;
  CURLU* u = curl_url();
  char* text = nullptr;
  if (u && curl_url_set(u, CURLUPART_URL, url.c_str(), CURLU_GUESS_SCHEME) == CURLUE_OK &&
      (!drop_credentials || (curl_url_set(u, CURLUPART_USER, nullptr, 0) == CURLUE_OK &&
                             curl_url_set(u, CURLUPART_PASSWORD, nullptr, 0) == CURLUE_OK)) &&
      curl_url_get(u, part, &text, 0) == CURLUE_OK && text) {
    out = text;
  }
  curl_free(text);
  curl_url_cleanup(u);
  return out;
}

std::string check_base_url(std::string& url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.empty()) return "base_url is empty";
  if (!visible_ascii(url)) return "base_url contains spaces or control characters";
  const bool http = url.rfind("http://", 0) == 0;
  const bool https = url.rfind("https://", 0) == 0;
  if (!http && !https) return "base_url must start with http:// or https://";
  if (url.size() == (http ? 7u : 8u)) return "base_url has no host";
  // The messages never repeat the URL: it may hold credentials.
  if (url_part(url, CURLUPART_HOST, false).empty()) return "base_url is not a URL libcurl can parse";
  if (!url_part(url, CURLUPART_USER, false).empty() || !url_part(url, CURLUPART_PASSWORD, false).empty()) {
    return "base_url carries user credentials (user:password@), which are never sent; the API key "
           "goes in api_key / OPSMETER_API_KEY";
  }
  if (!url_part(url, CURLUPART_QUERY, false).empty()) {
    return "base_url has a query (?...); give the API's base URL only, e.g. https://api.opsmeter.io";
  }
  if (!url_part(url, CURLUPART_FRAGMENT, false).empty()) {
    return "base_url has a fragment (#...); give the API's base URL only, e.g. https://api.opsmeter.io";
  }
  return {};
}

bool is_loopback_host(const std::string& host) {
  if (strcasecmp(host.c_str(), "localhost") == 0 || host == "[::1]") return true;
  // 127.0.0.0/8 as a dotted IPv4 literal.
  unsigned a = 0, b = 0, c = 0, d = 0;
  char tail = 0;
  return std::sscanf(host.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 &&
         b < 256 && c < 256 && d < 256;
}

// http:// carries the API key in clear text: only to this machine, unless the user says so.
std::string check_cleartext(const Options& options) {
  if (options.base_url.rfind("http://", 0) != 0 || options.allow_insecure_http) return {};
  const std::string host = url_part(options.base_url, CURLUPART_HOST, false);
  if (host.empty()) return "base_url cannot be parsed";
  if (is_loopback_host(host)) return {};
  return "base_url is http:// to a host that is not loopback (" + host +
         "); the API key would cross the network in clear text. Use https://, or set "
         "allow_insecure_http";
}

const char* first_env(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  return "";
}

// The proxy libcurl would pick from the environment, read once here and handed to it
// explicitly. Like libcurl, plain http reads only the lower-case http_proxy.
void proxy_from_environment(const Options& options, Config& config) {
  config.proxy = options.proxy.url;
  config.no_proxy = options.proxy.no_proxy;
  const bool https = options.base_url.rfind("https://", 0) == 0;
  if (config.proxy.empty()) {
    config.proxy = https ? first_env({"https_proxy", "HTTPS_PROXY"}) : first_env({"http_proxy"});
    if (config.proxy.empty()) config.proxy = first_env({"all_proxy", "ALL_PROXY"});
  }
  if (config.no_proxy.empty()) config.no_proxy = first_env({"no_proxy", "NO_PROXY"});
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

// NaN (which no comparison catches) counts as out of range too.
double clamp_double(double value, double low, double high, const char* name, std::vector<std::string>& warnings) {
  const double clamped = std::isnan(value) ? low : std::clamp(value, low, high);
  if (clamped != value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", clamped);
    warnings.push_back(std::string(name) + " out of range; using " + text);
  }
  return clamped;
}

}  // namespace

std::string redact_url(const std::string& url) {
  std::string out = url_part(url, CURLUPART_URL, true);
  return out.empty() ? "(unparseable URL)" : out;
}

std::string describe_delivery(const Config& config) {
  const Options& o = config.options;
  std::string line = "sending telemetry to " + redact_url(config.ingest_url);
  line += config.proxy.empty() ? " directly" : " via proxy " + redact_url(config.proxy);
  if (!config.proxy.empty() && !config.no_proxy.empty()) line += " (no_proxy " + config.no_proxy + ")";
  if (o.base_url.rfind("https://", 0) == 0) {
    line += "; TLS trusts ";
    if (o.tls.ca_bundle.empty() && o.tls.ca_path.empty()) line += "the system CA store";
    if (!o.tls.ca_bundle.empty()) line += "tls.ca_bundle " + o.tls.ca_bundle;
    if (!o.tls.ca_path.empty()) line += (o.tls.ca_bundle.empty() ? "tls.ca_path " : " and tls.ca_path ") + o.tls.ca_path;
  }
  // The effective bounds and timings, as dd-trace-cpp's startup line gives them.
  const auto mib = [](std::uint64_t bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return std::string(text);
  };
  line += "; queue " + std::to_string(o.queue.capacity) + " records / " + mib(o.queue.max_bytes);
  line += "; timeout " + std::to_string(o.timeout.count()) + " ms, " + std::to_string(o.max_in_flight) +
          " requests in flight, " + std::to_string(o.retry.max_retries) + " retries";
  line += "; spool " + (o.spool.dir.empty() ? std::string("off") : o.spool.dir);
  line += "; opsmeter-cpp " + std::string(version());
  return line;
}

Config finalize_options(Options options, const InternalOptions& internal) {
  Config config;
  std::vector<std::string>& warnings = config.warnings;
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
  if (url_error.empty()) url_error = check_cleartext(options);
  if (config.disabled_reason.empty() && !options.dry_run && !url_error.empty()) {
    config.disabled_reason = url_error;
  }
  proxy_from_environment(options, config);

  if (!internal.allow_any_timeout) {
    options.timeout = clamp_ms(options.timeout, kMinTimeout, kMaxTimeout, "timeout", warnings);
  } else {
    options.timeout = clamp_ms(options.timeout, Millis(1), Millis(600000), "timeout", warnings);
  }
  options.queue.capacity = clamp_with_warning<std::size_t>(options.queue.capacity, 1, 1000000,
                                                           "queue.capacity", warnings);
  options.spool.max_bytes = clamp_with_warning<std::size_t>(options.spool.max_bytes, std::size_t{64} << 10,
                                                            std::size_t{1} << 40, "spool.max_bytes", warnings);
  options.spool.max_age = clamp_ms(options.spool.max_age, Millis(1000), Millis(30LL * 86400000),
                                   "spool.max_age", warnings);
  options.queue.max_bytes = clamp_with_warning<std::size_t>(options.queue.max_bytes, std::size_t{64} << 10,
                                                            std::size_t{16} << 30, "queue.max_bytes", warnings);
  options.max_in_flight =
      clamp_with_warning<std::size_t>(options.max_in_flight, 1, 64, "max_in_flight", warnings);
  options.max_streams = clamp_with_warning<std::size_t>(options.max_streams, 1, 256, "max_streams", warnings);
  options.retry.max_retries = clamp_with_warning(options.retry.max_retries, 0, 10, "retry.max_retries", warnings);
  const Millis day{86400000};
  options.retry.base_delay = clamp_ms(options.retry.base_delay, Millis(1), day, "retry.base_delay", warnings);
  options.retry.max_delay =
      clamp_ms(options.retry.max_delay, options.retry.base_delay, day, "retry.max_delay", warnings);
  options.retry.max_retry_after = clamp_ms(options.retry.max_retry_after, kMinThrottle, day, "retry.max_retry_after", warnings);
  options.pause.window = clamp_ms(options.pause.window, Millis(1), day, "pause.window", warnings);
  options.max_record_age = clamp_ms(options.max_record_age, Millis(1), day, "max_record_age", warnings);
  options.shutdown_timeout =
      clamp_ms(options.shutdown_timeout, Millis(0), Millis(60000), "shutdown_timeout", warnings);
  options.outage_probe.min =
      clamp_ms(options.outage_probe.min, Millis(1), Millis(3600000), "outage_probe.min", warnings);
  options.outage_probe.max = clamp_ms(options.outage_probe.max, options.outage_probe.min,
                                           Millis(3600000), "outage_probe.max", warnings);

  options.rate.decrease = clamp_double(options.rate.decrease, 0.1, 0.95, "rate.decrease", warnings);
  options.rate.growth = clamp_double(options.rate.growth, 0.01, 100.0, "rate.growth", warnings);
  options.rate.min_send_rate = clamp_double(options.rate.min_send_rate, 0.01, 10000.0, "rate.min_send_rate", warnings);

  config.ingest_url = options.base_url + "/v1/ingest/llm-request";
  config.policy.max_retries = options.retry.max_retries;
  config.policy.retry_base_delay = options.retry.base_delay;
  config.policy.retry_max_delay = options.retry.max_delay;
  config.policy.max_retry_after = options.retry.max_retry_after;
  config.policy.pause_window = options.pause.window;
  config.options = std::move(options);
  return config;
}

}  // namespace opsmeter::detail
