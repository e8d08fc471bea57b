// What the opsmeter tool prints of bytes from outside (a URL, an environment value, a server's
// words): escape_text() and display_url() always give one line of valid UTF-8 without control
// bytes, display_url() never shows a query value, dump() never throws on any string, and
// parse_number() stays within its bounds.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cli.hpp"

namespace {

// Valid UTF-8 (no overlong forms, no surrogates) with no byte below 0x20 and no 0x7f.
bool printable_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || c > 0xF4 || i + n > s.size()) return false;
    unsigned code = c & (0x7F >> n);
    for (std::size_t k = 1; k < n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      code = (code << 6) | (d & 0x3F);
    }
    if ((n == 3 && code < 0x800) || (n == 4 && (code < 0x10000 || code > 0x10FFFF)) ||
        (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace opsmeter::cli;
  if (!printable_utf8(escape_text(text))) std::abort();
  const std::string url = display_url(text);
  if (!printable_utf8(url)) std::abort();
  // Every query value is hidden: after "?" and before "#", each '=' is followed by "***".
  const std::size_t query = url.find('?');
  if (query != std::string::npos) {
    const std::size_t end = std::min(url.find('#', query), url.size());
    for (std::size_t at = url.find('=', query); at < end; at = url.find('=', at + 1)) {
      if (url.compare(at + 1, 3, "***") != 0) std::abort();
    }
  }
  Json doc = Json::object();
  doc["text"] = std::string(text);
  const std::string dumped = dump(doc);  // must not throw
  if (dumped.empty()) std::abort();
  if (const auto n = parse_number(text, 1, 3600000); n && (*n < 1 || *n > 3600000)) std::abort();
  return 0;
}
