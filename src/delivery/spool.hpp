// The disk spool (Options::spool_dir): where records go that this process cannot send, and
// where the next client on the same directory finds them. Only the worker thread uses it.
//
// Files. A writer appends to `w-<unix ms>-<pid>-<n>.jsonl` (the time of its first record's
// record()) and, when it closes the file (at
// shutdown, at 1 MiB, or once the ingest API answers again), renames it to
// `r-<unix ms>-<pid>-<n>.jsonl`. A reader claims a file by renaming it to
// `c-<unix ms>-<pid>-<n>.jsonl.<reader pid>`: rename is atomic, so of two readers only one gets
// it. Files whose writer or reader process is gone (a crash, SIGKILL) are claimed too. A
// claimed file is deleted once every record read from it has ended (delivered, dropped, or
// spooled again); a reader that dies first leaves it for the next.
//
// Lines. `<crc32, 8 hex digits>\t<unix ms of record()>\t<payload JSON>\n`; the checksum covers
// everything after the first tab. A line that fails its checksum, a torn last line (no
// newline), and a line older than spool_max_age are skipped and counted (spool_dropped).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/log.hpp"

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

// Parses one line without its '\n': nullopt when the checksum, the layout or the JSON is wrong.
std::optional<SpoolEntry> parse_spool_line(std::string_view line);

class Spool {
 public:
  Spool(std::string dir, std::uint64_t max_bytes, Millis max_age, Logger& logger);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  bool enabled() const noexcept { return !dir_.empty(); }
  const std::string& dir() const noexcept { return dir_; }

  // Writing. append() buffers a line; flush() writes the buffer to the open file (one write()
  // per batch); close_file() flushes, syncs and renames it for readers. Records that cannot be
  // written (the disk is full, the directory is gone) are counted as dropped and logged.
  void append(std::string_view body, std::int64_t recorded_unix_ms);
  void flush() noexcept;
  void close_file() noexcept;

  // Reading. Fills `out` with up to `max` records, oldest files first, claiming the next file
  // when the current one is read to its end. Returns each record's file number through
  // `files`, for ended(). Bad and expired lines are counted in `dropped`.
  void read(std::size_t max, std::vector<SpoolEntry>& out, std::vector<std::uint64_t>& files,
            WallClock::time_point now) noexcept;
  // One record read from file `file` has ended: the file is deleted after its last one.
  void ended(std::uint64_t file) noexcept;

  // Logs what shutdown wrote (nothing when `count` is 0).
  void log_shutdown(std::uint64_t count) noexcept;

  // Records the spool lost since the last call: bad, torn or expired lines, files dropped over
  // the cap, and writes that failed.
  std::uint64_t take_dropped() noexcept { return std::exchange(dropped_, 0); }

 private:
  struct Claimed {
    std::uint64_t number;
    std::string path;
    std::string data;      // the whole file (a writer rolls its files at 1 MiB at most)
    std::size_t offset = 0;
    std::size_t outstanding = 0;
    bool read_to_end = false;
  };

  bool open_file() noexcept;
  void enforce_max_bytes(std::size_t incoming) noexcept;
  bool claim(const std::string& name, const std::string& base) noexcept;
  void release_if_done(std::size_t index) noexcept;

  const std::string dir_;
  const std::uint64_t max_bytes_;
  const std::uint64_t roll_bytes_;  // files roll at an eighth of the cap (4 KiB to 1 MiB), so
                                    // that the oldest records can be dropped a file at a time
  const Millis max_age_;
  Logger& logger_;
  const long pid_;

  int fd_ = -1;
  std::string path_;  // the open file's w- path
  std::string buffer_;
  std::uint64_t file_bytes_ = 0;
  std::uint64_t sequence_ = 0;
  std::int64_t first_recorded_ms_ = 0;  // the record() time of the open file's first line
  std::optional<std::uint64_t> total_;  // the directory's bytes, as last listed plus own appends

  std::deque<Claimed> claimed_;  // the back is being read; the others wait for their records
  std::uint64_t next_number_ = 1;
  std::uint64_t dropped_ = 0;
  bool warned_ = false;
};

}  // namespace opsmeter::detail
