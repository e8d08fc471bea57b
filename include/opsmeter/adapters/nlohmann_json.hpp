// opsmeter/adapters/nlohmann_json.hpp: read provider responses that a client already parsed
// into nlohmann::json. Header-only and opt-in: the one public header of the SDK that includes
// nlohmann/json, so that the others never do. Your target links nlohmann_json itself.
//
//   nlohmann::json reply = opsmeter::capture(client, "openai", "gpt-4o-mini",
//       [&] { return my_llm_client.chat(request); },             // returns nlohmann::json
//       opsmeter::json_reader(opsmeter::extract_openai_chat));
//
// The JSON is serialized once and read by the same extractor as a raw body, so every format
// of opsmeter/usage.hpp is read the same way in both paths. Never throws: strings that are
// not valid UTF-8 are replaced, and an allocation failure gives has_usage == false.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "opsmeter/capture.hpp"
#include "opsmeter/usage.hpp"

namespace opsmeter {

// Usage facts from a parsed provider response, read by `extract`. Any nlohmann::basic_json
// (nlohmann::json, nlohmann::ordered_json).
template <typename Json>
ProviderResponse extract_json(const Json& response, Extractor extract) noexcept {
  ProviderResponse out;
  try {
    const std::string body = response.dump(-1, ' ', false, Json::error_handler_t::replace);
    return extract(body);
  } catch (...) {
    out.error = "could not serialize the JSON response";
  }
  return out;
}

// A `read` for opsmeter::capture over a call that returns nlohmann::json (or ordered_json).
inline auto json_reader(Extractor extract) noexcept {
  return [extract](const auto& response) noexcept -> ProviderResponse {
    if (extract == nullptr) return ProviderResponse{};
    return extract_json(response, extract);
  };
}

}  // namespace opsmeter
