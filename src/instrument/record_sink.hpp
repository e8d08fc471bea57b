// What a CallScope hands its finished record to. The client implements it, so instrument/ never
// includes delivery/, and the public headers name only this interface, never the client's
// internals.
#pragma once

#include <string_view>

#include "opsmeter/client.hpp"

namespace opsmeter::detail {

class RecordSink {
 public:
  virtual RecordResult record(LlmCallRecord&& record) noexcept = 0;
  // A metadata entry a scope left out (set_metadata, or the context's metadata): `key` and why.
  // The record is still sent; the sink says so in its log.
  virtual void metadata_left_out(std::string_view key, std::string_view why) noexcept = 0;

 protected:
  ~RecordSink() = default;
};

// The sink behind a client (its Impl; null for a moved-from client). Defined with the client,
// so that Client::start_call can live with the CallScope it starts.
RecordSink* sink_of(const Client& client) noexcept;

// The answer for a record dropped before it reached the queue.
inline RecordResult dropped_result(DropReason reason) noexcept {
  RecordResult result;
  result.outcome = RecordResult::Outcome::kDropped;
  result.reason = reason;
  return result;
}

}  // namespace opsmeter::detail
