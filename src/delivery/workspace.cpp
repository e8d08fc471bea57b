// Client::check() and check_workspace(): one GET of the workspace status, its answer parsed
// leniently, and each way it can fail turned into a typed error with a hint.
#include "delivery/workspace.hpp"

#include <nlohmann/json.hpp>

#include "delivery/json_fields.hpp"

#include "opsmeter/version.hpp"

namespace opsmeter {
namespace {

using detail::read_field;
using nlohmann::json;

std::optional<BudgetPeriod> read_period(const json& budget, const char* key) {
  if (!budget.is_object()) return std::nullopt;
  const auto it = budget.find(key);
  if (it == budget.end() || !it->is_object()) return std::nullopt;
  BudgetPeriod p;
  read_field(*it, "limitUsd", p.limit_usd);
  read_field(*it, "currentSpendUsd", p.current_spend_usd);
  read_field(*it, "utilizationRatio", p.utilization_ratio);
  read_field(*it, "isWarning", p.is_warning);
  read_field(*it, "isExceeded", p.is_exceeded);
  return p;
}

CheckResult failed(CheckError error, std::string detail, int http_status = 0) {
  CheckResult r;
  r.error = error;
  r.detail = std::move(detail);
  r.http_status = http_status;
  return r;
}

bool ends_with_v1(const std::string& base_url) {
  return base_url.size() >= 3 && base_url.compare(base_url.size() - 3, 3, "/v1") == 0;
}

}  // namespace

std::string_view to_string(CheckError error) noexcept {
  switch (error) {
    case CheckError::kNone: return "ok";
    case CheckError::kDisabled: return "disabled";
    case CheckError::kUnauthorized: return "unauthorized";
    case CheckError::kNotFound: return "not_found";
    case CheckError::kUnreachable: return "unreachable";
    case CheckError::kTls: return "tls";
    case CheckError::kTimeout: return "timeout";
    case CheckError::kBadResponse: return "bad_response";
  }
  return "unknown";
}

std::optional<WorkspaceStatus> parse_workspace_status(std::string_view body) noexcept {
  try {
    const json doc = json::parse(body, nullptr, false);
    if (!doc.is_object()) return std::nullopt;
    WorkspaceStatus s;
    read_field(doc, "workspaceId", s.workspace_id);
    read_field(doc, "severity", s.severity);
    read_field(doc, "isPlanLimitReached", s.is_plan_limit_reached);
    read_field(doc, "telemetryPaused", s.telemetry_paused);
    read_field(doc, "providerCallsContinue", s.provider_calls_continue);
    read_field(doc, "isBudgetWarning", s.is_budget_warning);
    read_field(doc, "isBudgetExceeded", s.is_budget_exceeded);
    const auto plan = doc.find("plan");
    if (plan != doc.end()) {
      read_field(*plan, "planTier", s.plan_tier);
      read_field(*plan, "planName", s.plan_name);
      read_field(*plan, "currentRequestCount", s.current_request_count);
      read_field(*plan, "planRequestLimit", s.plan_request_limit);
      read_field(*plan, "remainingRequestCount", s.remaining_request_count);
    }
    const auto budget = doc.find("budget");
    if (budget != doc.end()) {
      s.daily = read_period(*budget, "daily");
      s.monthly = read_period(*budget, "monthly");
    }
    return s;
  } catch (...) {
    return std::nullopt;
  }
}

CheckResult check_workspace(const Options& options, std::chrono::milliseconds timeout) noexcept {
  try {
    const detail::Config config = detail::finalize_options(options);
    if (!config.disabled_reason.empty()) return failed(CheckError::kDisabled, config.disabled_reason);
    return detail::check_with(config, timeout);
  } catch (...) {
    return failed(CheckError::kBadResponse, "out of memory");
  }
}

namespace detail {
namespace {

// The typed answer to the GET: an error with a hint, or the parsed status.
CheckResult answer(const Config& config, const GetResult& got) {
  switch (got.error) {
    case TransportError::kNone: break;
    case TransportError::kTls:
      return failed(CheckError::kTls, got.error_text + " (check tls.ca_bundle / OPSMETER_CA_BUNDLE)");
    case TransportError::kTimeout: return failed(CheckError::kTimeout, got.error_text);
    default:
      return failed(CheckError::kUnreachable,
                    got.error_text + " (check base_url / OPSMETER_API_BASE_URL, DNS, the network and any proxy)");
  }
  const int status = got.http_status;
  if (status == 401 || status == 403) {
    return failed(CheckError::kUnauthorized,
                  "the API key was refused; check OPSMETER_API_KEY / Options::api_key", status);
  }
  if (status == 404) {
    std::string hint = "no workspace-status endpoint under " + redact_url(config.options.base_url);
    if (ends_with_v1(config.options.base_url)) {
      hint += "; base_url ends in /v1, but OPSMETER_API_BASE_URL is the API's base without /v1 "
              "(the SDK adds /v1/...)";
    }
    return failed(CheckError::kNotFound, hint, status);
  }
  if (status < 200 || status > 299) {
    return failed(CheckError::kBadResponse, "HTTP " + std::to_string(status), status);
  }
  CheckResult r;
  r.http_status = status;
  r.status = parse_workspace_status(got.body);
  if (!r.status) return failed(CheckError::kBadResponse, "the answer is not a JSON object", status);
  return r;
}

}  // namespace

CurlSettings curl_settings(const Config& config) {
  CurlSettings settings;
  settings.url = config.ingest_url;
  settings.api_key = config.options.api_key;
  settings.user_agent = std::string("opsmeter-cpp/") + version();
  settings.timeout = config.options.timeout;
  settings.max_in_flight = config.options.max_in_flight;
  settings.max_streams = config.options.max_streams;
  settings.ca_bundle = config.options.tls.ca_bundle;
  settings.ca_path = config.options.tls.ca_path;
  settings.proxy = config.proxy;
  settings.no_proxy = config.no_proxy;
  return settings;
}

CheckResult check_with(const Config& config, Millis timeout) noexcept {
  try {
    if (const std::string init = ensure_curl_global_init(); !init.empty()) {
      return failed(CheckError::kUnreachable, init);
    }
    CurlSettings settings = curl_settings(config);
    settings.timeout = timeout;
    const GetResult got = curl_get(settings, config.options.base_url + "/v1/diagnostics/workspace-status");
    CheckResult r = answer(config, got);
    r.connection = got.connection;
    return r;
  } catch (...) {
    return failed(CheckError::kBadResponse, "out of memory");
  }
}

}  // namespace detail
}  // namespace opsmeter
