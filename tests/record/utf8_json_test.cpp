// JSON string escaping and UTF-8 repair, as a table.
#include <gtest/gtest.h>

#include <ostream>

#include <limits>

#include "record/utf8_json.hpp"

namespace opsmeter::detail {
namespace {

struct EscapeCase {
  std::string input;
  std::string expected;  // JSON text including quotes
};

// Readable, stable test names (the default prints the row's raw bytes).
void PrintTo(const EscapeCase& row, std::ostream* os) {
  static const char kHex[] = "0123456789abcdef";
  *os << "input_hex_";
  for (unsigned char c : row.input) *os << kHex[c >> 4] << kHex[c & 15];
}

class EscapeTable : public ::testing::TestWithParam<EscapeCase> {};

TEST_P(EscapeTable, Escapes) {
  std::string out;
  append_json_string(out, GetParam().input);
  EXPECT_EQ(out, GetParam().expected);
}

const std::string kFffd = "\xEF\xBF\xBD";

INSTANTIATE_TEST_SUITE_P(
    Utf8, EscapeTable,
    ::testing::Values(
        EscapeCase{"plain", "\"plain\""}, EscapeCase{"q\"b\\", "\"q\\\"b\\\\\""},
        EscapeCase{"\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\""},
        EscapeCase{std::string("\x00\x01\x1f", 3), "\"\\u0000\\u0001\\u001f\""},
        EscapeCase{"\x7f", "\"\x7f\""},
        EscapeCase{"\xC3\xA9", "\"\xC3\xA9\""},                 // é
        EscapeCase{"\xE2\x82\xAC", "\"\xE2\x82\xAC\""},         // €
        EscapeCase{"\xF0\x9F\x98\x80", "\"\xF0\x9F\x98\x80\""}, // emoji
        EscapeCase{"\xC0\xAF", "\"" + kFffd + kFffd + "\""},    // overlong '/'
        EscapeCase{"\xE0\x80\xAF", "\"" + kFffd + kFffd + kFffd + "\""},  // overlong
        EscapeCase{"\xED\xA0\x80", "\"" + kFffd + kFffd + kFffd + "\""},  // surrogate
        EscapeCase{"\xF4\x90\x80\x80", "\"" + kFffd + kFffd + kFffd + kFffd + "\""},  // >10FFFF
        EscapeCase{"ab\xE2\x82", "\"ab" + kFffd + kFffd + "\""},  // truncated at end
        EscapeCase{"\x80x", "\"" + kFffd + "x\""},                // lone continuation
        EscapeCase{"\xFF", "\"" + kFffd + "\""}));

TEST(JsonNumbers, IntegersAndDoubles) {
  std::string out;
  append_json_int(out, std::numeric_limits<std::int64_t>::min());
  out += ',';
  append_json_double(out, 0.1);
  out += ',';
  append_json_double(out, std::numeric_limits<double>::infinity());
  EXPECT_EQ(out, "-9223372036854775808,0.1,null");
}

}  // namespace
}  // namespace opsmeter::detail
