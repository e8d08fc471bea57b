// The record preparer: what happens to a record between the queue and the wire, as a pure
// function of the options. Client-wide defaults fill empty fields, the userId policy applies,
// and the record is serialized once; retries resend the same bytes.
#pragma once

#include <string>

#include "opsmeter/client.hpp"

namespace opsmeter::detail {

struct Prepared {
  bool ok = false;                     // false: the record could not be serialized
  bool user_id_hashed_as_pii = false;  // the kHashIfPii policy replaced a PII-looking userId
  bool user_id_dropped = false;        // a userId to hash, but no salt: sent as null
};

class RecordPreparer {
 public:
  explicit RecordPreparer(const Options& options) noexcept : options_(options) {}

  // Completes `record` and appends its JSON to `body`.
  Prepared prepare(LlmCallRecord& record, std::string& body) const;

 private:
  const Options& options_;
};

}  // namespace opsmeter::detail
