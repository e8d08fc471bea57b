// Wire names of the record enums, and the small record helpers.
#include <limits>

#include "opsmeter/record.hpp"

namespace opsmeter {

std::string_view to_string(CallStatus value) noexcept {
  switch (value) {
    case CallStatus::kSuccess: return "success";
    case CallStatus::kError: return "error";
  }
  return "invalid";
}

std::string_view to_string(DataMode value) noexcept {
  switch (value) {
    case DataMode::kReal: return "real";
    case DataMode::kTest: return "test";
    case DataMode::kDemo: return "demo";
  }
  return "invalid";
}

std::string_view to_string(Environment value) noexcept {
  switch (value) {
    case Environment::kProd: return "prod";
    case Environment::kStaging: return "staging";
    case Environment::kDev: return "dev";
  }
  return "invalid";
}

std::string_view to_string(TokenSource value) noexcept {
  switch (value) {
    case TokenSource::kProvider: return "provider";
    case TokenSource::kEstimated: return "estimated";
  }
  return "invalid";
}

std::optional<CallStatus> parse_call_status(std::string_view text) noexcept {
  if (text == "success") return CallStatus::kSuccess;
  if (text == "error") return CallStatus::kError;
  return std::nullopt;
}

std::optional<DataMode> parse_data_mode(std::string_view text) noexcept {
  if (text == "real") return DataMode::kReal;
  if (text == "test") return DataMode::kTest;
  if (text == "demo") return DataMode::kDemo;
  return std::nullopt;
}

std::optional<Environment> parse_environment(std::string_view text) noexcept {
  if (text == "prod") return Environment::kProd;
  if (text == "staging") return Environment::kStaging;
  if (text == "dev") return Environment::kDev;
  return std::nullopt;
}

std::optional<TokenSource> parse_token_source(std::string_view text) noexcept {
  if (text == "provider") return TokenSource::kProvider;
  if (text == "estimated") return TokenSource::kEstimated;
  return std::nullopt;
}

std::int64_t LlmCallRecord::effective_total_tokens() const noexcept {
  if (total_tokens) return *total_tokens;
  std::int64_t sum = 0;
  if (__builtin_add_overflow(input_tokens, output_tokens, &sum)) {
    return std::numeric_limits<std::int64_t>::max();
  }
  return sum;
}

}  // namespace opsmeter
