// opsmeter/metrics.hpp: the client's figures in the Prometheus text exposition format.
//
//   // in your /metrics handler
//   std::string text = opsmeter::to_prometheus_text(client.stats(), client.status());
//   response.set_content(text, opsmeter::kPrometheusContentType);
//
// Counters (each with a _total name): records recorded, delivered, dropped (one sample per
// drop reason, label `reason`), rejected (label `status`), resends, 429 answers, requests,
// request bytes, callback errors, records spooled, unspooled and lost from the spool. Gauges:
// records and bytes queued and the queue's two bounds, records in flight and waiting to retry,
// the age of the oldest pending record, the time of the last delivery, whether the client is
// enabled, the API unreachable, telemetry paused, the sender throttled, and the send pace.
// Every family has HELP and TYPE lines. `labels`, when given, is added to every sample as is
// (e.g. `service="checkout"`; it must already be valid label syntax, without braces).
//
// For prometheus-cpp users: the README shows the same figures through a prometheus::Collectable.
#pragma once

#include <string>
#include <string_view>

#include "opsmeter/client.hpp"
#include "opsmeter/export.hpp"

namespace opsmeter {

inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// Never throws: an allocation failure gives an empty string.
OPSMETER_API std::string to_prometheus_text(const Stats& stats, const ClientStatus& status,
                                            std::string_view labels = {}) noexcept;

}  // namespace opsmeter
