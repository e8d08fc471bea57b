// What the commands share: the log book, JSON and text forms of the status and the posture,
// reading the input lines.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli.hpp"

namespace opsmeter::cli {
namespace {



template <typename T>
void put(Json& out, const char* key, const std::optional<T>& value) {
  if (value) out[key] = *value;
}

Json period_json(const BudgetPeriod& p) {
  Json out = Json::object();
  put(out, "limitUsd", p.limit_usd);
  put(out, "currentSpendUsd", p.current_spend_usd);
  put(out, "utilizationRatio", p.utilization_ratio);
  put(out, "isWarning", p.is_warning);
  put(out, "isExceeded", p.is_exceeded);
  return out;
}

const char* yes_no(bool value) { return value ? "yes" : "no"; }

}  // namespace

void LogBook::add(LogLevel level, std::string_view line) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string entry = std::string(to_string(level)) + ": " + std::string(line);
  if (echo_) std::fprintf(stderr, "opsmeter-cpp %s\n", entry.c_str());
  lines_.push_back(std::move(entry));
}

std::vector<std::string> LogBook::lines() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_;
}

Json to_json(const WorkspaceStatus& s) {
  Json out = Json::object();
  put(out, "workspaceId", s.workspace_id);
  put(out, "severity", s.severity);
  put(out, "isPlanLimitReached", s.is_plan_limit_reached);
  put(out, "telemetryPaused", s.telemetry_paused);
  put(out, "providerCallsContinue", s.provider_calls_continue);
  put(out, "isBudgetWarning", s.is_budget_warning);
  put(out, "isBudgetExceeded", s.is_budget_exceeded);
  put(out, "planTier", s.plan_tier);
  put(out, "planName", s.plan_name);
  put(out, "currentRequestCount", s.current_request_count);
  put(out, "planRequestLimit", s.plan_request_limit);
  put(out, "remainingRequestCount", s.remaining_request_count);
  if (s.daily) out["daily"] = period_json(*s.daily);
  if (s.monthly) out["monthly"] = period_json(*s.monthly);
  return out;
}

Json to_json(const IngestPosture& p) {
  Json out = Json::object();
  put(out, "ok", p.ok);
  if (!p.reason.empty()) out["reason"] = p.reason;
  put(out, "telemetryPaused", p.telemetry_paused);
  put(out, "providerCallsContinue", p.provider_calls_continue);
  put(out, "isPlanLimitReached", p.is_plan_limit_reached);
  put(out, "budgetWarning", p.budget_warning);
  put(out, "budgetExceeded", p.budget_exceeded);
  if (!p.plan_tier.empty()) out["planTier"] = p.plan_tier;
  out["warnings"] = p.warnings;
  put(out, "planLimitRequests", p.plan_limit_requests);
  put(out, "freeLimitRemainingRequests", p.free_limit_remaining_requests);
  return out;
}

std::string summary(const WorkspaceStatus& s) {
  std::ostringstream out;
  out << "plan " << s.plan_tier.value_or("?") << ", severity " << s.severity.value_or("?")
      << ", telemetry paused " << yes_no(s.telemetry_paused.value_or(false));
  if (s.current_request_count) {
    out << ", requests " << *s.current_request_count;
    if (s.plan_request_limit) out << " of " << *s.plan_request_limit;
  }
  if (s.is_budget_exceeded.value_or(false)) {
    out << ", budget exceeded";
  } else if (s.is_budget_warning.value_or(false)) {
    out << ", budget warning";
  }
  return out.str();
}

std::string summary(const IngestPosture& p) {
  std::ostringstream out;
  out << "ok " << (p.ok ? (*p.ok ? "true" : "false") : "absent");
  if (!p.plan_tier.empty()) out << ", plan " << p.plan_tier;
  if (p.free_limit_remaining_requests) out << ", " << *p.free_limit_remaining_requests << " requests left";
  if (p.telemetry_paused.value_or(false)) out << ", telemetry paused";
  if (!p.reason.empty()) out << ", reason " << p.reason;
  for (const std::string& w : p.warnings) out << ", warning: " << w;
  return out.str();
}

bool read_lines(const std::string& path, std::vector<std::string>& lines, std::string& error) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path);
    if (!file) {
      error = "cannot read " + path;
      return false;
    }
    in = &file;
  }
  std::string line;
  while (std::getline(*in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  if (in->bad()) {
    error = "error reading " + path;
    return false;
  }
  return true;
}

}  // namespace opsmeter::cli
