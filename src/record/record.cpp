// Wire names of the record enums, and the small record helpers.
#include <cstddef>
#include <limits>

#include "opsmeter/record.hpp"

namespace opsmeter {

namespace {

// Each enum's wire names, indexed by its value: the one place they are written, read both ways.
constexpr std::string_view kCallStatusNames[] = {"success", "error"};
constexpr std::string_view kDataModeNames[] = {"real", "test", "demo"};
constexpr std::string_view kEnvironmentNames[] = {"prod", "staging", "dev"};
constexpr std::string_view kTokenSourceNames[] = {"provider", "estimated"};

template <typename Enum, std::size_t N>
std::string_view name_of(Enum value, const std::string_view (&names)[N]) noexcept {
  const auto index = static_cast<std::size_t>(value);
  return index < N ? names[index] : std::string_view("invalid");
}

template <typename Enum, std::size_t N>
std::optional<Enum> value_of(std::string_view text, const std::string_view (&names)[N]) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == text) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(CallStatus value) noexcept { return name_of(value, kCallStatusNames); }
std::string_view to_string(DataMode value) noexcept { return name_of(value, kDataModeNames); }
std::string_view to_string(Environment value) noexcept { return name_of(value, kEnvironmentNames); }
std::string_view to_string(TokenSource value) noexcept { return name_of(value, kTokenSourceNames); }

std::optional<CallStatus> parse_call_status(std::string_view text) noexcept {
  return value_of<CallStatus>(text, kCallStatusNames);
}
std::optional<DataMode> parse_data_mode(std::string_view text) noexcept {
  return value_of<DataMode>(text, kDataModeNames);
}
std::optional<Environment> parse_environment(std::string_view text) noexcept {
  return value_of<Environment>(text, kEnvironmentNames);
}
std::optional<TokenSource> parse_token_source(std::string_view text) noexcept {
  return value_of<TokenSource>(text, kTokenSourceNames);
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
