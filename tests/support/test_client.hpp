// Clients for the integration tests: the per-request timeout is taken as given, so tests can
// use long timeouts (slow sanitizer builds) and short ones (timeout tests) outside the
// contract's 300-800 ms that the public Options enforce.
#pragma once

#include "delivery/client_access.hpp"

namespace opsmeter::test {

inline Client make_client(Options options) noexcept {
  detail::InternalOptions internal;
  internal.allow_any_timeout = true;
  return detail::ClientAccess::make(std::move(options), internal);
}

}  // namespace opsmeter::test
