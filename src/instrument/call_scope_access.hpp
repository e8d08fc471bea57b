// The entry points of CallScope that only the library uses: the client starts scopes, and a
// scope finishes itself with the unwinding flag its destructor computed.
#pragma once

#include <string_view>

#include "opsmeter/call_scope.hpp"
#include "opsmeter/context.hpp"

namespace opsmeter::detail {

struct CallScopeAccess {
  // An active scope that hands its record to `sink`; inactive if `sink` is null.
  static CallScope begin(RecordSink* sink, std::string_view provider, std::string_view model,
                         const CallOptions& options) noexcept;
  static RecordResult finish(CallScope& scope, bool unwinding) noexcept;
};

// This thread's context, without copying it.
const Context& current_context_ref() noexcept;

}  // namespace opsmeter::detail
