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
  std::string entry = std::string(to_string(level)) + ": " + escape_text(line);
  if (verbose_ || (!json_ && level >= LogLevel::kWarn)) std::fprintf(stderr, "opsmeter-cpp %s\n", entry.c_str());
  lines_.push_back(std::move(entry));
}

namespace {

// The length of the valid UTF-8 sequence at text[i], or 0.
std::size_t utf8_length(std::string_view text, std::size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  std::size_t n = 0;
  unsigned min = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  unsigned code = c & (0x7F >> n);
  for (std::size_t k = 1; k < n; ++k) {
    const auto d = static_cast<unsigned char>(text[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    code = (code << 6) | (d & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

std::string escape_text(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (const std::size_t n = c >= 0x80 ? utf8_length(text, i) : 0) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
    ++i;
  }
  return out;
}

std::string display_url(std::string_view url) {
  std::string shown(url);
  // userinfo: between "://" and the first '@' before the path.
  const std::size_t scheme = shown.find("://");
  const std::size_t authority = scheme == std::string::npos ? 0 : scheme + 3;
  const std::size_t path = shown.find_first_of("/?#", authority);
  const std::size_t at = shown.rfind('@', path == std::string::npos ? std::string::npos : path);
  if (at != std::string::npos && at >= authority && (path == std::string::npos || at < path)) {
    shown.replace(authority, at - authority, "***");
  }
  // query values
  const std::size_t query = shown.find('?');
  if (query != std::string::npos) {
    const std::size_t fragment = shown.find('#', query);
    std::string rebuilt = shown.substr(0, query + 1);
    const std::string params = shown.substr(query + 1, fragment == std::string::npos ? std::string::npos : fragment - query - 1);
    std::size_t start = 0;
    while (start <= params.size()) {
      const std::size_t amp = params.find('&', start);
      const std::string pair = params.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
      const std::size_t eq = pair.find('=');
      rebuilt += eq == std::string::npos ? pair : pair.substr(0, eq + 1) + "***";
      if (amp == std::string::npos) break;
      rebuilt += '&';
      start = amp + 1;
    }
    if (fragment != std::string::npos) rebuilt += shown.substr(fragment);
    shown = rebuilt;
  }
  return escape_text(shown);
}

std::string dump(const Json& doc) { return doc.dump(2, ' ', false, Json::error_handler_t::replace); }

std::optional<long long> parse_number(std::string_view text, long long low, long long high) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  long long value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value < low || value > high) return std::nullopt;
  return value;
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
