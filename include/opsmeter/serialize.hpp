// opsmeter/serialize.hpp: the exact wire format of one ingest request body.
//
// The body is one JSON object with the fields in the canonical order of the Opsmeter contract:
// externalRequestId, provider, model, promptVersion, endpointTag, inputTokens, outputTokens,
// totalTokens, latencyMs, status, errorCode, userId, dataMode, environment, metadata.
// Nulls are explicit (`"errorCode":null`). Strings are valid UTF-8: control characters are
// escaped and invalid UTF-8 sequences are replaced by U+FFFD, so any input gives valid JSON.
// `metadata` always carries `sdkLanguage` ("cpp") and `sdkVersion`.
//
// The client serializes on its worker thread; this header exists for dry runs, logging and
// tests. Nothing here throws: on allocation failure the functions return an empty string or
// false.
#pragma once

#include <string>

#include "opsmeter/export.hpp"
#include "opsmeter/record.hpp"

namespace opsmeter {

// Defaults applied to unset optional fields while serializing.
struct SerializeDefaults {
  DataMode data_mode = DataMode::kReal;
  Environment environment = Environment::kProd;
};

// Appends the compact JSON body to `out`. Returns false (and leaves `out` as it was) only if
// memory ran out. The record is not validated here; see opsmeter/validation.hpp.
OPSMETER_API bool append_json(const LlmCallRecord& record, const SerializeDefaults& defaults,
                              std::string& out) noexcept;

// The compact JSON body, or "" if memory ran out.
OPSMETER_API std::string to_json(const LlmCallRecord& record,
                                 const SerializeDefaults& defaults = {}) noexcept;

}  // namespace opsmeter
