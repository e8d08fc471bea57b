// opsmeter/check.hpp: a start-up check of the key and the ingest API, and the workspace status.
//
//   opsmeter::CheckResult r = client.check(std::chrono::seconds(3));
//   if (!r.ok()) log("opsmeter: " + std::string(to_string(r.error)) + ": " + r.detail);
//
// check() makes one blocking `GET {base_url}/v1/diagnostics/workspace-status` with the API key,
// through the same TLS, CA and proxy settings the client sends with. It is for start-up and
// health endpoints; record() never calls it. Never throws.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "opsmeter/client.hpp"
#include "opsmeter/connection_info.hpp"
#include "opsmeter/export.hpp"

namespace opsmeter {

// One budget period of the workspace status (`budget.daily`, `budget.monthly`).
struct BudgetPeriod {
  std::optional<double> limit_usd;
  std::optional<double> current_spend_usd;
  std::optional<double> utilization_ratio;
  std::optional<bool> is_warning;
  std::optional<bool> is_exceeded;
};

// The workspace status as the API reports it. Every field is optional: absent or wrongly typed
// fields stay unset, unknown ones are ignored.
struct WorkspaceStatus {
  std::optional<std::string> workspace_id;
  std::optional<std::string> severity;  // "normal", "warning" or "critical"
  std::optional<bool> is_plan_limit_reached;
  std::optional<bool> telemetry_paused;
  std::optional<bool> provider_calls_continue;
  std::optional<bool> is_budget_warning;
  std::optional<bool> is_budget_exceeded;
  std::optional<std::string> plan_tier;  // `plan.planTier`
  std::optional<std::string> plan_name;
  std::optional<std::int64_t> current_request_count;
  std::optional<std::int64_t> plan_request_limit;
  std::optional<std::int64_t> remaining_request_count;
  std::optional<BudgetPeriod> daily;
  std::optional<BudgetPeriod> monthly;
};

enum class CheckError : std::uint8_t {
  kNone,
  kDisabled,      // the client is disabled (bad options); detail says why
  kUnauthorized,  // HTTP 401/403: the API key is wrong or revoked
  kNotFound,      // HTTP 404: wrong base URL (detail hints at a trailing /v1)
  kUnreachable,   // DNS failure, connection refused or unreachable, proxy failure
  kTls,           // the TLS handshake failed (untrusted certificate, host name mismatch)
  kTimeout,       // no complete answer within the timeout
  kBadResponse,   // another HTTP status, or a 2xx that is not a JSON object
};
OPSMETER_API std::string_view to_string(CheckError error) noexcept;

struct CheckResult {
  CheckError error = CheckError::kNone;
  int http_status = 0;  // 0 when no HTTP answer arrived
  std::string detail;   // what went wrong and what to try; never the API key
  std::optional<WorkspaceStatus> status;  // set when ok()
  ConnectionInfo connection;  // filled whenever a request was made

  bool ok() const noexcept { return error == CheckError::kNone; }
};

// The same check without a client: the options are checked as a Client would check them.
OPSMETER_API CheckResult check_workspace(const Options& options, std::chrono::milliseconds timeout) noexcept;

// Parses a workspace-status body; nullopt when it is not a JSON object.
OPSMETER_API std::optional<WorkspaceStatus> parse_workspace_status(std::string_view body) noexcept;

}  // namespace opsmeter
