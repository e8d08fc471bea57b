// Defaults, the userId policy and serialization, applied on the worker so that record() stays
// cheap.
#include "delivery/preparer.hpp"

#include <cstdio>
#include <ctime>

#include "opsmeter/ids.hpp"
#include "opsmeter/serialize.hpp"

namespace opsmeter::detail {

std::string rfc3339_ms(WallClock::time_point when) {
  const auto ms = std::chrono::duration_cast<Millis>(when.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
  const auto millis = static_cast<int>(((ms % 1000) + 1000) % 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[80];  // what the format could write for any int fields
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buffer;
}

bool stamp_recorded_at(std::string& body, WallClock::time_point when) noexcept {
  try {
    if (body.size() < 2 || body.compare(body.size() - 2, 2, "}}") != 0) return false;
    const std::string field = ",\"recordedAt\":\"" + rfc3339_ms(when) + "\"";
    body.insert(body.size() - 2, field);
    return true;
  } catch (...) {
    return false;
  }
}

Prepared RecordPreparer::prepare(LlmCallRecord& record, std::string& body) const {
  const Options& o = options_;
  Prepared result;
  if (record.endpoint_tag.empty()) record.endpoint_tag = o.endpoint_tag;
  if (record.prompt_version.empty()) record.prompt_version = o.prompt_version;
  if (record.metadata.tenant_id.empty()) record.metadata.tenant_id = o.tenant_id;
  if (record.metadata.feature.empty()) record.metadata.feature = o.feature;
  if (record.user_id && o.user_id_policy != UserIdPolicy::kSendAsIs) {
    if (o.user_id_policy == UserIdPolicy::kHashAll || looks_like_pii(*record.user_id)) {
      if (o.user_id_salt.empty()) {
        // An unkeyed hash of an email address is reversible from a list of addresses.
        record.user_id.reset();
        result.user_id_dropped = true;
      } else {
        result.user_id_hashed_as_pii = o.user_id_policy == UserIdPolicy::kHashIfPii;
        record.user_id = hash_user_id(*record.user_id, o.user_id_salt);
      }
    }
  }
  result.ok = append_json(record, SerializeDefaults{o.data_mode, o.environment}, body);
  return result;
}

}  // namespace opsmeter::detail
