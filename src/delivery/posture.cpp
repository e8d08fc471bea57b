// Response parsing: any field may be missing or of another type, and none of that is an error.
#include "delivery/posture.hpp"

#include <nlohmann/json.hpp>

namespace opsmeter::detail {
namespace {

using nlohmann::json;

void read_bool(const json& object, const char* key, std::optional<bool>& out) {
  const auto it = object.find(key);
  if (it != object.end() && it->is_boolean()) out = it->get<bool>();
}

void read_string(const json& object, const char* key, std::string& out) {
  const auto it = object.find(key);
  if (it != object.end() && it->is_string()) out = it->get<std::string>();
}

void read_int(const json& object, const char* key, std::optional<std::int64_t>& out) {
  const auto it = object.find(key);
  if (it == object.end()) return;
  if (it->is_number_integer()) {
    out = it->get<std::int64_t>();
  } else if (it->is_number_float()) {
    const double value = it->get<double>();
    if (value >= -9.2e18 && value <= 9.2e18) out = static_cast<std::int64_t>(value);
  }
}

}  // namespace

std::optional<IngestPosture> parse_posture(std::string_view body) noexcept {
  try {
    const json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) return std::nullopt;
    IngestPosture p;
    read_bool(doc, "ok", p.ok);
    read_string(doc, "reason", p.reason);
    read_bool(doc, "telemetryPaused", p.telemetry_paused);
    read_bool(doc, "providerCallsContinue", p.provider_calls_continue);
    read_bool(doc, "isPlanLimitReached", p.is_plan_limit_reached);
    read_bool(doc, "budgetWarning", p.budget_warning);
    read_bool(doc, "budgetExceeded", p.budget_exceeded);
    read_string(doc, "planTier", p.plan_tier);
    read_int(doc, "planLimitRequests", p.plan_limit_requests);
    read_int(doc, "freeLimitRemainingRequests", p.free_limit_remaining_requests);
    const auto warnings = doc.find("warnings");
    if (warnings != doc.end() && warnings->is_array()) {
      for (const json& w : *warnings) {
        if (w.is_string()) p.warnings.push_back(w.get<std::string>());
      }
    }
    return p;
  } catch (...) {  // allocation failure; a malformed body never throws with allow_exceptions=false
    return std::nullopt;
  }
}

}  // namespace opsmeter::detail
