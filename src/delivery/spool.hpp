// The disk spool (Options::spool.dir): where records go that this client cannot send, and where
// the next client with the same ingest identity finds them. Only the worker thread uses it
// (report() excepted).
//
// Directory. `<spool.dir>/<identity>/` (spool_format.hpp: a keyed hash of the base URL and the
// API key). Both must be directories owned by this process's user and writable by nobody else
// (as ssh and gpg insist for theirs); otherwise the spool is refused with one log line and the
// client runs without it. Every file is opened relative to the directory's descriptor, never
// following a symbolic link, never blocking on open, and only regular files owned by this user
// of at most a writer's roll size plus one line are read; anything else is skipped, counted in
// report(), and left in place.
//
// Files and ownership. A writer appends to `w-<unix ms>-<sequence>-<16 random hex>.jsonl`
// (the time of its first record's record(), its count of files) and, when it closes the file (at shutdown, at its roll size, or
// once the ingest API answers again), renames it to `r-....jsonl`. Ownership is a `flock()`
// lock on an open file, never a pid: a writer holds its file locked from creation to close, a
// reader holds a file locked while records read from it are pending. A file that nobody holds
// is free, whatever its name says, so a dead process's files (the kernel drops its locks) are
// always taken over and a live owner's never are, in any pid namespace; two clients of one
// process are two owners.
//
// Accounting. A record read from a file ends one of three ways: gone (delivered, or dropped and
// counted), or given back (still pending at shutdown: it stays in the file). A file read to its
// end whose records are all gone is deleted. At shutdown, a file from which nothing is gone is
// released untouched; one from which something is gone is replaced by what remains of it (the
// records given back and the unread rest), written whole and synced before the old one is
// deleted; without time for that, it too is released untouched (a record already delivered
// may then be sent again: the server keeps one row per id). So every record is on disk once.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "delivery/spool_format.hpp"
#include "opsmeter/client.hpp"

namespace opsmeter::detail {

// Where a record read from the spool came from: its file and its line there.
struct SpoolMark {
  std::uint64_t file = 0;
  std::uint32_t line = 0;
};

// What status() says of the spool (see ClientStatus).
struct SpoolReport {
  std::string path;            // this identity's directory; empty when the spool is refused
  std::string refused_reason;  // why the spool is off, when it was asked for
  std::uint64_t other_identity_files = 0;  // files of other base URLs or API keys: never sent
  std::uint64_t other_identity_bytes = 0;
  std::int64_t other_identity_oldest_unix_ms = 0;  // 0 when there are none
  std::uint64_t skipped_files = 0;  // not regular, not this user's, too large, or unreadable
};

// What status() says of the spool.
void describe(const SpoolReport& spool, ClientStatus& status);

class Spool {
 public:
  // `root` is Options::spool.dir, `identity` from spool_identity().
  Spool(std::string root, std::string identity, std::uint64_t max_bytes, Millis max_age, Logger& logger);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  bool enabled() const noexcept { return dir_fd_ >= 0; }
  const std::string& dir() const noexcept { return dir_; }

  // Writing. append() buffers a line; flush() writes the buffer to the open file (one write()
  // per batch; a partial write is cut back to its last whole line); close_file() flushes,
  // syncs and renames it for readers. Records that cannot be written (the disk is full, the
  // directory is gone) are counted as dropped and logged.
  void append(std::string_view body, std::int64_t recorded_unix_ms);
  void flush() noexcept;
  void close_file() noexcept;

  // Reading. Appends to `out` (and `marks`) up to `max` records, oldest files first, taking
  // the next free file when the current one is read to its end. Bad and expired lines are
  // counted in take_dropped(). One call lists the directory at most once and opens and reads a
  // bounded amount; returns true when it stopped for that bound with more to read.
  bool read(std::size_t max, std::vector<SpoolEntry>& out, std::vector<SpoolMark>& marks,
            WallClock::time_point now) noexcept;
  // A record read from the spool is gone (delivered, or dropped and counted) or given back.
  void gone(SpoolMark mark) noexcept;
  void give_back(SpoolMark mark) noexcept;
  // At shutdown, after every record read has ended: releases the files held (see above).
  // Without `time_left`, nothing is rewritten.
  void release_files(bool time_left) noexcept;

  // In a child after fork(): forgets the parent's files and buffer without writing, renaming
  // or unlocking anything (the parent still owns them).
  void abandon_after_fork() noexcept;

  // Logs what shutdown wrote (nothing when `count` is 0).
  void log_shutdown(std::uint64_t count) noexcept;

  // Records the spool lost since the last call: bad, torn or expired lines, files dropped over
  // the cap, and writes that failed.
  std::uint64_t take_dropped() noexcept { return std::exchange(dropped_, 0); }

  // Looks at the other identities' directories (bounded) for report(); the worker calls it now
  // and then.
  void survey() noexcept;
  SpoolReport report() const;

 private:
  // A line's state, as a plain byte: a vector of a project type can have its std:: template
  // code exported by the version script's `opsmeter::*` (its demangled name starts with the
  // return type) when a build does not inline it.
  struct LineState {
    static constexpr std::uint8_t kPending = 0, kGone = 1, kGivenBack = 2;
  };
  struct Held {
    std::uint64_t number = 0;
    int fd = -1;
    std::string name;
    std::string data;    // the whole file: at most the roll size plus one line
    std::size_t offset = 0;  // the next unread byte
    std::vector<std::pair<std::uint32_t, std::uint32_t>> lines;  // offset, length of each line read
    std::vector<std::uint8_t> states;  // LineState
    std::size_t outstanding = 0;
    bool read_to_end = false;
    bool changed = false;  // a record or a bad line is gone from it
  };

  bool open_directory(const std::string& root, const std::string& identity);
  bool open_file() noexcept;
  void enforce_max_bytes(std::size_t incoming) noexcept;
  void list_ready() noexcept;
  // Opens, locks and reads one file; false when it is not free or not one to read.
  bool take(const std::string& name) noexcept;
  // The held file with `mark`'s record still pending, or held_.size().
  std::size_t pending(SpoolMark mark) const noexcept;
  void settle(std::size_t index) noexcept;  // deletes a file whose records are all gone
  bool rewrite(Held& held) noexcept;        // replaces a file by what remains of it
  void skipped(const std::string& name, const std::string& why) noexcept;
  void close_held(Held& held) noexcept;

  std::string dir_;  // root/identity
  int dir_fd_ = -1;
  const std::uint64_t max_bytes_;
  const std::uint64_t roll_bytes_;  // files roll at an eighth of the cap (4 KiB to 1 MiB), so
                                    // that the oldest records can be dropped a file at a time
  const std::uint64_t max_file_bytes_;  // the roll size plus one line: larger files are skipped
  const Millis max_age_;
  Logger& logger_;
  std::string root_;

  int fd_ = -1;
  std::string name_;  // the open file's w- name
  std::uint64_t sequence_ = 0;  // files this writer made
  std::string buffer_;
  std::uint64_t file_bytes_ = 0;     // what was appended to the open file (buffered or written)
  std::uint64_t written_bytes_ = 0;  // what of it is in the file
  std::int64_t first_recorded_ms_ = 0;  // the record() time of the open file's first line
  std::optional<std::uint64_t> total_;  // the directory's bytes, as last listed plus own appends

  std::vector<std::string> ready_;  // the last listing, oldest first; next_ready_ the next to try
  std::size_t next_ready_ = 0;
  std::deque<Held> held_;  // the back is being read; the others wait for their records
  std::uint64_t next_number_ = 1;
  std::uint64_t dropped_ = 0;
  bool warned_ = false;

  mutable std::mutex report_mu_;
  SpoolReport report_;
  std::vector<std::string> skipped_names_;  // logged once each (bounded)
};

}  // namespace opsmeter::detail
