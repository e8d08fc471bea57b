// Ways to build a Client that the public API does not offer, for the project's own tests: a
// per-request timeout outside the contract's 300-800 ms (long ones for slow sanitizer builds,
// short ones for timeout tests).
#pragma once

#include "delivery/options.hpp"
#include "instrument/record_sink.hpp"
#include "opsmeter/client.hpp"

namespace opsmeter::detail {

struct ClientAccess {
  static Client make(Options options, const InternalOptions& internal) noexcept {
    return Client(std::move(options), internal);
  }
  static RecordSink* sink(const Client& client) noexcept;  // the client's Impl, or null
};

}  // namespace opsmeter::detail
