// The workspace-status check behind Client::check() and check_workspace().
#pragma once

#include "delivery/options.hpp"
#include "opsmeter/check.hpp"
#include "transport/curl_transport.hpp"

namespace opsmeter::detail {

// The transport settings a client made from `config` sends with (shared by the client and
// the check, so both reach the API the same way).
CurlSettings curl_settings(const Config& config);

// One GET of the workspace status with `config`'s key and settings. Never throws.
CheckResult check_with(const Config& config, Millis timeout) noexcept;

}  // namespace opsmeter::detail
