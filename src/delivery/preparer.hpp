// The record preparer: what happens to a record between the queue and the wire, as a pure
// function of the options. Client-wide defaults fill empty fields, the userId policy applies,
// and the record is serialized once; retries resend the same bytes.
#pragma once

#include <string>

#include "base/clock.hpp"
#include "opsmeter/client.hpp"

namespace opsmeter::detail {

struct Prepared {
  bool ok = false;                     // false: the record could not be serialized
  bool user_id_hashed_as_pii = false;  // the kHashIfPii policy replaced a PII-looking userId
  bool user_id_dropped = false;        // a userId to hash, but no salt: sent as null
};

// A record sent this long after its record() says when it happened (metadata.recordedAt): the
// payload has no timestamp, so the ingest time would otherwise stand for the call.
inline constexpr Millis kLateRecord{60000};

// Adds `"recordedAt":"<when, RFC 3339 UTC, milliseconds>"` as the last metadata key of a body
// the serializer wrote (its metadata object is always last). False, with `body` unchanged, if
// the body does not end as the serializer ends it, or memory ran out.
bool stamp_recorded_at(std::string& body, WallClock::time_point when) noexcept;

// "2026-11-29T21:04:05.123Z".
std::string rfc3339_ms(WallClock::time_point when);

class RecordPreparer {
 public:
  explicit RecordPreparer(const Options& options) noexcept : options_(options) {}

  // Completes `record` and appends its JSON to `body`.
  Prepared prepare(LlmCallRecord& record, std::string& body) const;

 private:
  const Options& options_;
};

}  // namespace opsmeter::detail
