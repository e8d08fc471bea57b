// opsmeter/version.hpp: the SDK version.
//
// The same version is sent with every record as `metadata.sdkVersion` and in the User-Agent
// header (`opsmeter-cpp/<version>`). `version()` returns the version the library was built as,
// which can differ from these macros if headers and library come from different installs.
#pragma once

#include "opsmeter/export.hpp"

#define OPSMETER_VERSION_MAJOR 0
#define OPSMETER_VERSION_MINOR 2
#define OPSMETER_VERSION_PATCH 0
#define OPSMETER_VERSION "0.2.0"

namespace opsmeter {

// The version of the linked library, e.g. "0.2.0". Never null.
OPSMETER_API const char* version() noexcept;

}  // namespace opsmeter
