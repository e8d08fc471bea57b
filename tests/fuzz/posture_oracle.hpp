// The posture as reading the whole body into an nlohmann document gives it: the reference the
// SAX reader in src/delivery/posture.cpp is checked against (tests/delivery/posture_test.cpp
// and the posture fuzz target), member by member.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "delivery/json_fields.hpp"
#include "opsmeter/client.hpp"

namespace opsmeter::detail {

inline std::optional<IngestPosture> posture_from_document(std::string_view body) {
  using nlohmann::json;
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
}

inline bool same_posture(const std::optional<IngestPosture>& a, const std::optional<IngestPosture>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return a->ok == b->ok && a->reason == b->reason && a->telemetry_paused == b->telemetry_paused &&
         a->provider_calls_continue == b->provider_calls_continue &&
         a->is_plan_limit_reached == b->is_plan_limit_reached && a->budget_warning == b->budget_warning &&
         a->budget_exceeded == b->budget_exceeded && a->plan_tier == b->plan_tier && a->warnings == b->warnings &&
         a->plan_limit_requests == b->plan_limit_requests &&
         a->free_limit_remaining_requests == b->free_limit_remaining_requests;
}

}  // namespace opsmeter::detail
