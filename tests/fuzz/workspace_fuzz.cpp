// Workspace-status bodies from any server (what check() parses): never a throw or a crash,
// and an object always parses to a status.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "opsmeter/check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto status = opsmeter::parse_workspace_status(body);
  if (status && status->daily && status->daily->limit_usd) (void)*status->daily->limit_usd;
  return 0;
}
