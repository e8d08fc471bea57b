// Ingest response bodies from any server: the posture parser never throws, crashes or reads out
// of bounds, whatever the bytes, and reads what a whole nlohmann document of the body gives
// (posture_oracle.hpp): it aborts on any difference.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "delivery/posture.hpp"
#include "posture_oracle.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto posture = opsmeter::detail::parse_posture(body);
  if (!opsmeter::detail::same_posture(posture, opsmeter::detail::posture_from_document(body))) std::abort();
  return 0;
}
