// The library's version, set by the build from the CMake project version.
#include "opsmeter/version.hpp"

namespace opsmeter {

const char* version() noexcept { return OPSMETER_VERSION_STRING; }

}  // namespace opsmeter
