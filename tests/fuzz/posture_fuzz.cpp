// Ingest response bodies from any server: the posture parser never throws, crashes or reads out
// of bounds, whatever the bytes.
#include <cstdint>
#include <string_view>

#include "delivery/posture.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto posture = opsmeter::detail::parse_posture(body);
  if (posture) (void)posture->reason.size();
  return 0;
}
