// JSON string writing with UTF-8 repair: the one place that turns user bytes into JSON text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace opsmeter::detail {

// Appends `"text"` to out: quotes, backslashes and control characters escaped, invalid UTF-8
// sequences (overlong forms, surrogates, code points above U+10FFFF, truncated sequences)
// replaced by U+FFFD. May throw std::bad_alloc; callers catch it.
void append_json_string(std::string& out, std::string_view text);

// Appends a JSON number.
void append_json_int(std::string& out, std::int64_t value);
void append_json_double(std::string& out, double value);  // non-finite -> null

// Length of the valid UTF-8 sequence starting at text[i], or 0 if the bytes there are invalid.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) noexcept;

}  // namespace opsmeter::detail
