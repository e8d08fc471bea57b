// Small text helpers the layers share.
#pragma once

#include <cstddef>
#include <string>
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

// Lower-case hex of exactly `digits` digits, not all zero: a W3C Trace Context trace id (32)
// or span id (16).
constexpr bool is_trace_hex(std::string_view id, std::size_t digits) noexcept {
  if (id.size() != digits) return false;
  bool nonzero = false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    nonzero = nonzero || c != '0';
  }
  return nonzero;
}

// `text` cut to at most `cap` bytes without splitting a UTF-8 sequence.
constexpr std::string_view utf8_prefix(std::string_view text, std::size_t cap) noexcept {
  if (text.size() <= cap) return text;
  std::size_t end = cap;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

// Text from outside (a server's `reason`, a header) made safe for one log line: every byte
// outside printable ASCII is written as \xNN (so no CR/LF, no terminal escape sequence), and
// at most `cap` bytes of it are kept, with a note of how many more there were.
inline std::string log_safe(std::string_view text, std::size_t cap = 200) {
  std::string out;
  const std::size_t kept = text.size() < cap ? text.size() : cap;
  out.reserve(kept + 16);
  for (std::size_t i = 0; i < kept; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out += static_cast<char>(c);
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      const char escaped[] = {'\\', 'x', kHexDigits[c >> 4], kHexDigits[c & 0xF]};
      out.append(escaped, sizeof escaped);
    }
  }
  if (kept < text.size()) out += "...(" + std::to_string(text.size() - kept) + " more bytes)";
  return out;
}

}  // namespace opsmeter::detail
