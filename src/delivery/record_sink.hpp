// Entry points that CallScope (call_scope.cpp) needs from the client's internals.
#pragma once

#include "opsmeter/client.hpp"
#include "opsmeter/context.hpp"

namespace opsmeter::detail {

// Client::record() for code that holds only the Impl.
RecordResult record_through(Client::Impl& impl, LlmCallRecord&& record) noexcept;

// This thread's context, without copying it.
const Context& current_context_ref() noexcept;

}  // namespace opsmeter::detail
