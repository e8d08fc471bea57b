// The ingest wire format read back into a typed record: one JSON object per line, as
// `to_json()` writes it (opsmeter/serialize.hpp), for `opsmeter send` and `opsmeter validate`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "opsmeter/record.hpp"

namespace opsmeter::cli {

// Why a line is not a record. `code` is a stable lower-case name: "not_json", "not_an_object",
// "wrong_type", "unknown_field", "out_of_range", "invalid_enum", or a ValidationCode's name
// when the record parsed but failed validate().
struct LineError {
  std::string code;
  std::string field;    // the JSON name ("metadata.tenantId"), empty when not about one field
  std::string message;  // one sentence for a person
};

// Parses one line into a record. The SDK's own metadata keys (sdkLanguage, sdkVersion,
// recordedAt) are accepted and left out: the client adds its own. Never throws (bad_alloc aside).
std::optional<LlmCallRecord> parse_wire_record(std::string_view line, LineError& error);

// parse_wire_record() followed by validate(): the checks record() would make.
std::optional<LlmCallRecord> read_record_line(std::string_view line, LineError& error);

}  // namespace opsmeter::cli
