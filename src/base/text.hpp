// Small text helpers the layers share.
#pragma once

#include <string_view>

namespace opsmeter::detail {

// Lower-case hexadecimal digits, indexed by value (0-15).
inline constexpr char kHexDigits[] = "0123456789abcdef";

// ASCII white space (space, \t, \n, \v, \f, \r), independent of the C locale.
constexpr bool is_ascii_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// `text` without leading and trailing ASCII white space.
constexpr std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && is_ascii_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ascii_space(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace opsmeter::detail
