// Response parsing: any field may be missing or of another type, and none of that is an error.
#include "delivery/posture.hpp"

#include <nlohmann/json.hpp>

#include "delivery/json_fields.hpp"

namespace opsmeter::detail {

using nlohmann::json;

std::optional<IngestPosture> parse_posture(std::string_view body) noexcept {
  try {
    const json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) return std::nullopt;
    IngestPosture p;
    read_field(doc, "ok", p.ok);
    read_field(doc, "reason", p.reason);
    read_field(doc, "telemetryPaused", p.telemetry_paused);
    read_field(doc, "providerCallsContinue", p.provider_calls_continue);
    read_field(doc, "isPlanLimitReached", p.is_plan_limit_reached);
    read_field(doc, "budgetWarning", p.budget_warning);
    read_field(doc, "budgetExceeded", p.budget_exceeded);
    read_field(doc, "planTier", p.plan_tier);
    read_field(doc, "planLimitRequests", p.plan_limit_requests);
    read_field(doc, "freeLimitRemainingRequests", p.free_limit_remaining_requests);
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
