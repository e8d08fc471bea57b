// The disk spool's formats, without files: a line, its checksum, the test a reader applies to
// each line, and the name of the directory that holds one ingest identity's files.
//
// A line is `<crc32, 8 hex digits>\t<unix ms of record()>\t<payload JSON>\n`; the checksum
// covers everything after the first tab. A reader tests a line's age from its time field
// before anything else, so that expired lines cost no checksum and no JSON parse.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.hpp"

namespace opsmeter::detail {

std::uint32_t crc32(std::string_view data) noexcept;

inline std::int64_t unix_ms(WallClock::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// One spool line for `payload` (which has no newline: serialized JSON escapes it), with its
// trailing '\n'.
std::string spool_line(std::string_view payload, std::int64_t recorded_unix_ms);

struct SpoolEntry {
  std::string body;  // the payload, sent as it is
  std::string id;    // its externalRequestId
  std::int64_t recorded_unix_ms = 0;
};

// A line dated further than this past the reader's clock is treated as corrupt: a clock that
// jumped, or a line made up to never expire.
inline constexpr Millis kSpoolFutureSkew{5 * 60 * 1000};

enum class SpoolLine : std::uint8_t { kOk, kCorrupt, kExpired };

// Tests one line (without its '\n') as a reader at `now_ms` does, filling `entry` when kOk:
// kExpired when its time field says it is older than `max_age` (before any other check),
// kCorrupt when the layout, the time (saturated, never overflowing), the checksum or the JSON
// is wrong, or the line is dated beyond kSpoolFutureSkew.
SpoolLine scan_spool_line(std::string_view line, std::int64_t now_ms, Millis max_age, SpoolEntry& entry);

// The checks of scan_spool_line() without the age tests.
std::optional<SpoolEntry> parse_spool_line(std::string_view line);

// The subdirectory of the spool directory that holds the files of one ingest identity (base URL
// and API key): `id-` and 16 hex digits of an HMAC-SHA256 keyed with the API key. The key is
// never on disk, and records spooled for one identity are never sent with another. Empty when
// the hash cannot be computed.
std::string spool_identity(std::string_view base_url, std::string_view api_key);

}  // namespace opsmeter::detail
