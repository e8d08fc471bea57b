// The disk spool's formats (see spool_format.hpp).
#include "delivery/spool_format.hpp"

#include <array>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

#include "opsmeter/ids.hpp"

namespace opsmeter::detail {
namespace {

const std::array<std::uint32_t, 256>& crc_table() {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

// The time field: decimal digits, saturated at the largest int64 (a line dated that far is
// corrupt anyway: beyond the future skew). False when empty or not digits.
bool parse_ms(std::string_view digits, std::int64_t& out) noexcept {
  if (digits.empty()) return false;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  std::int64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    const int digit = c - '0';
    value = value > (kMax - digit) / 10 ? kMax : value * 10 + digit;
  }
  out = value;
  return true;
}

}  // namespace

std::uint32_t crc32(std::string_view data) noexcept {
  const auto& table = crc_table();
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char byte : data) c = table[(c ^ byte) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string spool_line(std::string_view payload, std::int64_t recorded_unix_ms) {
  std::string rest = std::to_string(recorded_unix_ms);
  rest += '\t';
  rest += payload;
  char head[10];
  std::snprintf(head, sizeof head, "%08x\t", crc32(rest));
  std::string line(head, 9);
  line += rest;
  line += '\n';
  return line;
}

SpoolLine scan_spool_line(std::string_view line, std::int64_t now_ms, Millis max_age, SpoolEntry& entry) {
  if (line.size() < 12 || line[8] != '\t') return SpoolLine::kCorrupt;
  const std::string_view rest = line.substr(9);
  const std::size_t tab = rest.find('\t');
  if (tab == std::string_view::npos) return SpoolLine::kCorrupt;
  std::int64_t recorded = 0;
  if (!parse_ms(rest.substr(0, tab), recorded)) return SpoolLine::kCorrupt;
  // Both times are compared without overflow: `recorded` is never negative.
  if (recorded <= now_ms) {
    if (now_ms - recorded > max_age.count()) return SpoolLine::kExpired;
  } else if (now_ms < 0 || recorded - now_ms > kSpoolFutureSkew.count()) {
    return SpoolLine::kCorrupt;
  }
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    const char c = line[i];
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return SpoolLine::kCorrupt;
    sum = sum << 4 | static_cast<std::uint32_t>(digit);
  }
  if (crc32(rest) != sum) return SpoolLine::kCorrupt;
  const std::string_view body = rest.substr(tab + 1);
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return SpoolLine::kCorrupt;
  const auto id = json.find("externalRequestId");
  if (id == json.end() || !id->is_string() || id->get_ref<const std::string&>().empty()) return SpoolLine::kCorrupt;
  entry.id = id->get<std::string>();
  entry.body = std::string(body);
  entry.recorded_unix_ms = recorded;
  return SpoolLine::kOk;
}

std::optional<SpoolEntry> parse_spool_line(std::string_view line) {
  SpoolEntry entry;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  // The newest possible reader: nothing is in the future, nothing has expired.
  if (scan_spool_line(line, kMax, Millis(kMax), entry) != SpoolLine::kOk) return std::nullopt;
  return entry;
}

std::string spool_identity(std::string_view base_url, std::string_view api_key) {
  while (!base_url.empty() && base_url.back() == '/') base_url.remove_suffix(1);  // one URL, one identity
  std::string message = "opsmeter-spool-v1\n";
  message += base_url;
  const std::string hex = hash_user_id(message, api_key);
  if (hex.size() < 16) return std::string();
  return "id-" + hex.substr(0, 16);
}

}  // namespace opsmeter::detail
