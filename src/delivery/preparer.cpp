// Defaults, the userId policy and serialization, applied on the worker so that record() stays
// cheap.
#include "delivery/preparer.hpp"

#include "opsmeter/ids.hpp"
#include "opsmeter/serialize.hpp"

namespace opsmeter::detail {

Prepared RecordPreparer::prepare(LlmCallRecord& record, std::string& body) const {
  const Options& o = options_;
  Prepared result;
  if (record.endpoint_tag.empty()) record.endpoint_tag = o.endpoint_tag;
  if (record.prompt_version.empty()) record.prompt_version = o.prompt_version;
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
