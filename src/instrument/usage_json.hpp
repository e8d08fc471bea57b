// The JSON side of usage extraction, shared by the body extractors (usage.cpp) and the stream
// readers (stream_usage.cpp): lenient reads of numbers and strings, a parser that builds only
// the top-level members the readers use, and each provider's usage reader.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "opsmeter/usage.hpp"

namespace opsmeter::detail {

using json = nlohmann::json;

// A non-negative integer at `object[key]`, else 0 (absent, null, negative or not a number).
std::int64_t count(const json& object, const char* key);
std::optional<std::int64_t> optional_count(const json& object, const char* key);
// `object[key]`, or null.
const json& member(const json& object, const char* key);
// The string at `object[key]`, else "".
std::string text(const json& object, const char* key);

// Parses `body`, building only the members the readers use; a discarded value when it is not
// valid JSON.
json parse_wanted(std::string_view body);
// parse_wanted(), for a whole response: on failure fills `out.error` and returns a discarded
// value.
json parse(std::string_view body, ProviderResponse& out);
// `doc[key]` when it is an object, else null with the reason in `out.error`.
const json* usage_object(const json& doc, const char* key, ProviderResponse& out);

// Each provider's usage (see opsmeter/usage.hpp for the counting rule).
void read_openai_chat_usage(const json& usage, const json& timings, Usage& u);
void read_openai_responses_usage(const json& usage, Usage& u);
void read_gemini_usage(const json& usage, Usage& u);
void read_anthropic_input(const json& usage, Usage& u);
// Ollama's final object; false when `doc` is not one, with the reason in `out.error`.
bool read_ollama(const json& doc, ProviderResponse& out);

}  // namespace opsmeter::detail
