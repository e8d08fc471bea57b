// Lenient parsing of ingest response bodies into the budget posture.
#pragma once

#include <optional>
#include <string_view>

#include "opsmeter/client.hpp"

namespace opsmeter::detail {

// nullopt when the body is not a JSON object; absent or wrongly typed fields stay unset.
// Never throws.
std::optional<IngestPosture> parse_posture(std::string_view body) noexcept;

}  // namespace opsmeter::detail
