// The disk spool: its directory, file names, locks, reads and rewrites (see spool.hpp).
#include "delivery/spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <tuple>

namespace opsmeter::detail {
namespace {

constexpr std::size_t kBufferBytes = 64 * 1024;
constexpr std::uint64_t kMaxLineBytes = 1 << 20;  // a record's line, with room to spare
// What one read() may do: open this many files and read this many bytes.
constexpr int kFilesPerRead = 64;
constexpr std::uint64_t kBytesPerRead = 4 << 20;
constexpr std::size_t kMaxListed = 100000;  // names kept from one listing
constexpr std::size_t kMaxSkippedNames = 1000;

// A spool file's name, `<w|r>-<unix ms>-<tag>.jsonl`: its state and time.
struct FileName {
  std::string name;
  char state = 0;
  long long ms = 0;
};

std::optional<FileName> parse_name(const char* raw) {
  const std::string_view name(raw);
  if (name.size() < 10 || (name[0] != 'w' && name[0] != 'r') || name[1] != '-') return std::nullopt;
  if (name.substr(name.size() - 6) != ".jsonl") return std::nullopt;
  FileName f;
  f.name = std::string(name);
  f.state = name[0];
  std::size_t i = 2;
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9' && i < 21; ++i) f.ms = f.ms * 10 + (name[i] - '0');
  if (i == 2 || i >= name.size() || name[i] != '-') return std::nullopt;
  return f;
}

// The spool files in the directory `fd`, oldest first (by the time in the name, then name).
std::vector<FileName> list_files(int fd) {
  std::vector<FileName> files;
  const int copy = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (copy < 0) return files;
  DIR* d = fdopendir(copy);
  if (d == nullptr) {
    ::close(copy);
    return files;
  }
  while (dirent* e = readdir(d)) {
    if (files.size() >= kMaxListed) break;
    if (std::optional<FileName> f = parse_name(e->d_name)) files.push_back(std::move(*f));
  }
  closedir(d);
  std::sort(files.begin(), files.end(),
            [](const FileName& x, const FileName& y) { return std::tie(x.ms, x.name) < std::tie(y.ms, y.name); });
  return files;
}

std::string random_tag() {
  static std::atomic<std::uint64_t> counter{0};
  std::uint64_t bits = 0;
  if (getrandom(&bits, sizeof bits, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof bits)) {
    bits = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
           (counter.fetch_add(1) * 0x9e3779b97f4a7c15ULL) ^ static_cast<std::uint64_t>(getpid());
  }
  char tag[17];
  std::snprintf(tag, sizeof tag, "%016llx", static_cast<unsigned long long>(bits));
  return tag;
}

// Why the directory `fd` is not private to this user, or empty when it is.
std::string not_private(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return std::strerror(errno);
  if (!S_ISDIR(st.st_mode)) return "not a directory";
  if (st.st_uid != geteuid()) {
    return "owned by uid " + std::to_string(st.st_uid) + ", not this process's " + std::to_string(geteuid());
  }
  if ((st.st_mode & 022) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return std::string("writable by group or others (mode ") + mode + "; chmod go-w it)";
  }
  return std::string();
}

// Opens `name` in `dir_fd` for writing as a new file and locks it; -1 when it cannot be made.
// A reader may lock a file between its creation and our lock: then we make another.
int create_locked(int dir_fd, const std::string& name, int& error) {
  const int fd = openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  error = errno;
  if (fd < 0) return -1;
  struct stat st {};
  if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 && st.st_nlink > 0) return fd;
  ::close(fd);
  error = EEXIST;
  return -1;
}

bool write_all(int fd, std::string_view data, std::size_t& done) {
  done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::uint64_t count_newlines(std::string_view data) {
  return static_cast<std::uint64_t>(std::count(data.begin(), data.end(), '\n'));
}

}  // namespace

Spool::Spool(std::string root, std::string identity, std::uint64_t max_bytes, Millis max_age, Logger& logger)
    : max_bytes_(max_bytes),
      roll_bytes_(std::clamp<std::uint64_t>(max_bytes / 8, 4096, 1 << 20)),
      max_file_bytes_(roll_bytes_ + kMaxLineBytes),
      max_age_(max_age),
      logger_(logger),
      root_(std::move(root)) {
  if (root_.empty()) return;
  try {
    if (!open_directory(root_, identity)) {
      logger_.log(LogLevel::kError, "spool directory refused: " + report_.refused_reason +
                                        "; running without a spool (what cannot be sent is dropped and counted)");
      return;
    }
    survey();
  } catch (...) {  // out of memory for a message: the spool stays off
    if (dir_fd_ >= 0) ::close(dir_fd_);
    dir_fd_ = -1;
  }
}

Spool::~Spool() {
  close_file();
  for (Held& h : held_) close_held(h);
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

bool Spool::open_directory(const std::string& root, const std::string& identity) {
  if (identity.empty()) {
    report_.refused_reason = "no identity could be derived from the base URL and API key";
    return false;
  }
  if (mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) {
    report_.refused_reason = root + " cannot be created: " + std::strerror(errno);
    return false;
  }
  const int root_fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) {
    report_.refused_reason = root + ": " + std::strerror(errno);
    return false;
  }
  std::string why = not_private(root_fd);
  int fd = -1;
  if (why.empty()) {
    if (mkdirat(root_fd, identity.c_str(), 0700) != 0 && errno != EEXIST) {
      why = std::string("its subdirectory cannot be created: ") + std::strerror(errno);
    } else {
      fd = openat(root_fd, identity.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      why = fd < 0 ? identity + ": " + std::strerror(errno) : not_private(fd);
      if (!why.empty()) why = identity + " " + why;
    }
  }
  ::close(root_fd);
  if (!why.empty()) {
    if (fd >= 0) ::close(fd);
    report_.refused_reason = root + " " + why;
    return false;
  }
  dir_fd_ = fd;
  dir_ = root + "/" + identity;
  report_.path = dir_;
  return true;
}

void Spool::append(std::string_view body, std::int64_t recorded_unix_ms) {
  if (!enabled()) {
    ++dropped_;
    return;
  }
  const std::string line = spool_line(body, recorded_unix_ms);
  enforce_max_bytes(line.size());
  if (fd_ < 0 && buffer_.empty()) first_recorded_ms_ = recorded_unix_ms;  // names the next file
  buffer_ += line;
  file_bytes_ += line.size();
  if (buffer_.size() >= kBufferBytes) flush();
  if (file_bytes_ >= roll_bytes_) close_file();
}

bool Spool::open_file() noexcept {
  int error = 0;
  try {
    for (int attempt = 0; attempt < 4 && fd_ < 0; ++attempt) {
      name_ = "w-" + std::to_string(first_recorded_ms_) + "-" + random_tag() + ".jsonl";
      fd_ = create_locked(dir_fd_, name_, error);
      if (fd_ < 0 && error != EEXIST) break;
    }
    written_bytes_ = 0;
    if (fd_ >= 0) logger_.log(LogLevel::kInfo, "spooling records to " + dir_ + "/" + name_);
    if (fd_ < 0 && !warned_) {
      warned_ = true;
      logger_.log(LogLevel::kError, "spool file in " + dir_ + " cannot be created: " + std::strerror(error));
    }
  } catch (...) {  // out of memory for the name or the message: the count still says it
  }
  return fd_ >= 0;
}

void Spool::flush() noexcept {
  if (buffer_.empty()) return;
  if (fd_ < 0 && !open_file()) {
    dropped_ += count_newlines(buffer_);
    buffer_.clear();
    file_bytes_ = 0;
    return;
  }
  std::size_t done = 0;
  if (write_all(fd_, buffer_, done)) {
    written_bytes_ += done;
    buffer_.clear();
    return;
  }
  // Keep the whole lines that reached the file and cut back the rest, so that the next line
  // does not start inside a torn one. What did not reach the file is lost, and counted.
  const int error = errno;
  const std::size_t last = done == 0 ? std::string::npos : buffer_.rfind('\n', done - 1);
  const std::size_t keep = last == std::string::npos ? 0 : last + 1;
  dropped_ += count_newlines(std::string_view(buffer_).substr(keep));
  buffer_.clear();
  written_bytes_ += keep;
  file_bytes_ = written_bytes_;
  const bool cut = ftruncate(fd_, static_cast<off_t>(written_bytes_)) == 0;
  if (!warned_) {
    warned_ = true;
    try {
      logger_.log(LogLevel::kError, "spool write to " + dir_ + "/" + name_ + " failed: " + std::strerror(error));
    } catch (...) {
    }
  }
  if (!cut) close_file();  // a torn tail stays: readers skip and count it; the next line starts a new file
}

void Spool::close_file() noexcept {
  flush();
  if (fd_ < 0) return;
  fdatasync(fd_);
  try {
    std::string ready = name_;
    ready[0] = 'r';
    if (renameat(dir_fd_, name_.c_str(), dir_fd_, ready.c_str()) != 0) {
      const int error = errno;
      logger_.log(LogLevel::kWarn, "spool file " + dir_ + "/" + name_ + " cannot be renamed: " + std::strerror(error));
    }
  } catch (...) {  // out of memory: the file stays w-, and is taken once nobody holds it
  }
  ::close(fd_);  // after the rename: the lock covers it
  fd_ = -1;
  file_bytes_ = 0;
  written_bytes_ = 0;
}

void Spool::log_shutdown(std::uint64_t count) noexcept {
  if (count == 0) return;
  try {
    logger_.log(LogLevel::kWarn, "shutdown spooled " + std::to_string(count) + " records to " + dir_ +
                                     "; a client started with the same base URL and API key sends them");
  } catch (...) {
  }
}

// Over the cap, the oldest files nobody holds go first, whole, their lines counted as
// dropped, and this process's own open file last. Only files the reader would read count
// (regular, this user's, not too large). The directory is listed only when the running total
// says the cap is reached; then room for a file's worth is made, so that the next appends do
// not list it again.
void Spool::enforce_max_bytes(std::size_t incoming) noexcept {
  if (total_ && *total_ + incoming <= max_bytes_) {
    *total_ += incoming;
    return;
  }
  try {
    const std::uint64_t target = max_bytes_ > roll_bytes_ ? max_bytes_ - roll_bytes_ : 0;
    std::vector<std::pair<std::string, std::uint64_t>> files;
    std::uint64_t total = buffer_.size() + incoming;
    for (const FileName& f : list_files(dir_fd_)) {
      struct stat st {};
      if (fstatat(dir_fd_, f.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
          st.st_uid != geteuid() || static_cast<std::uint64_t>(st.st_size) > max_file_bytes_) {
        continue;
      }
      total += static_cast<std::uint64_t>(st.st_size);
      if (f.name != name_) files.emplace_back(f.name, static_cast<std::uint64_t>(st.st_size));
    }
    if (total <= max_bytes_) {
      total_ = total;
      return;
    }
    for (const auto& [name, size] : files) {
      if (total <= target) break;
      const int fd = openat(dir_fd_, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) continue;
      struct stat st {};
      std::string data;
      if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink > 0) {
        data.resize(static_cast<std::size_t>(st.st_size));
        const ssize_t got = pread(fd, data.data(), data.size(), 0);
        data.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
        if (unlinkat(dir_fd_, name.c_str(), 0) == 0) {
          const std::uint64_t lines = count_newlines(data) + (!data.empty() && data.back() != '\n' ? 1 : 0);
          dropped_ += lines;
          total -= std::min(total, size);
          logger_.log(LogLevel::kWarn, "spool over spool_max_bytes (" + std::to_string(max_bytes_) +
                                           "): dropped its oldest " + std::to_string(lines) + " records");
        }
      }
      ::close(fd);  // held by someone else: left alone
    }
    if (total > max_bytes_ && fd_ >= 0) {
      // Only this process's own file is left to make room: it goes, oldest of what remains.
      flush();
      std::string data;
      const int reader = openat(dir_fd_, name_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (reader >= 0) {
        data.resize(static_cast<std::size_t>(written_bytes_));
        const ssize_t got = pread(reader, data.data(), data.size(), 0);
        data.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
        ::close(reader);
      }
      total -= std::min<std::uint64_t>(total, written_bytes_);
      dropped_ += count_newlines(data);
      unlinkat(dir_fd_, name_.c_str(), 0);
      ::close(fd_);
      fd_ = -1;
      file_bytes_ = 0;
      written_bytes_ = 0;
      logger_.log(LogLevel::kWarn, "spool over spool_max_bytes (" + std::to_string(max_bytes_) +
                                       "): dropped this process's oldest spooled records");
    }
    total_ = total;
  } catch (...) {
    total_.reset();
  }
}

void Spool::list_ready() noexcept {
  try {
    ready_.clear();
    next_ready_ = 0;
    for (FileName& f : list_files(dir_fd_)) ready_.push_back(std::move(f.name));
  } catch (...) {
    ready_.clear();
  }
}

void Spool::skipped(const std::string& name, const std::string& why) noexcept {
  try {
    if (std::find(skipped_names_.begin(), skipped_names_.end(), name) != skipped_names_.end()) return;
    if (skipped_names_.size() >= kMaxSkippedNames) return;
    skipped_names_.push_back(name);
    {
      std::lock_guard<std::mutex> lock(report_mu_);
      ++report_.skipped_files;
    }
    logger_.log(LogLevel::kWarn, "spool file " + dir_ + "/" + name + " skipped and left in place: " + why);
  } catch (...) {
  }
}

bool Spool::take(const std::string& name) noexcept {
  try {
    const int fd = openat(dir_fd_, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      const int error = errno;
      if (error == ENOENT) return false;  // taken and deleted meanwhile
      skipped(name, error == ELOOP ? std::string("a symbolic link") : std::string(std::strerror(error)));
      return false;
    }
    Held h;
    h.fd = fd;
    h.name = name;
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      skipped(name, std::strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
      skipped(name, "not a regular file");
    } else if (st.st_uid != geteuid()) {
      skipped(name, "owned by uid " + std::to_string(st.st_uid));
    } else if (static_cast<std::uint64_t>(st.st_size) > max_file_bytes_) {
      skipped(name, std::to_string(st.st_size) + " bytes, larger than a spool file can be (" +
                        std::to_string(max_file_bytes_) + ")");
    } else if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 && st.st_nlink > 0) {
      // Ours now. Read it whole, and one byte more: a file that grows while we hold it has a
      // writer that takes no lock, and is not ours to read.
      h.data.resize(static_cast<std::size_t>(st.st_size) + 1);
      std::size_t got = 0;
      int error = 0;
      while (got < h.data.size()) {
        const ssize_t n = ::read(fd, h.data.data() + got, h.data.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) error = errno;
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
      }
      if (error != 0 || got > static_cast<std::size_t>(st.st_size)) {
        skipped(name, error != 0 ? std::string(std::strerror(error)) : std::string("it grew while it was read"));
      } else {
        h.data.resize(got);
        h.number = next_number_++;
        held_.push_back(std::move(h));
        logger_.log(LogLevel::kInfo, "sending spooled records from " + dir_ + "/" + name);
        return true;
      }
    }
    ::close(fd);  // not ours to read, or held by its owner
    return false;
  } catch (...) {
    return false;
  }
}

bool Spool::read(std::size_t max, std::vector<SpoolEntry>& out, std::vector<SpoolMark>& marks,
                 WallClock::time_point now) noexcept {
  if (!enabled()) return false;
  try {
    const std::int64_t now_ms = unix_ms(now);
    int opened = 0;
    std::uint64_t bytes = 0;
    bool listed = false;
    while (out.size() < max) {
      if (held_.empty() || held_.back().read_to_end) {
        bool took = false;
        while (!took) {
          if (next_ready_ >= ready_.size()) {
            if (listed) return false;
            list_ready();
            listed = true;
            if (ready_.empty()) return false;
          }
          if (opened >= kFilesPerRead || bytes >= kBytesPerRead) return true;
          ++opened;
          took = take(ready_[next_ready_++]);
          if (took) bytes += held_.back().data.size();
        }
      }
      Held& h = held_.back();
      while (out.size() < max && !h.read_to_end) {
        const std::size_t end = h.data.find('\n', h.offset);
        if (end == std::string::npos) {
          if (h.offset < h.data.size()) {  // a torn last line
            ++dropped_;
            h.changed = true;
          }
          h.offset = h.data.size();
          h.read_to_end = true;
          break;
        }
        const std::string_view line(h.data.data() + h.offset, end - h.offset);
        const std::size_t start = h.offset;
        h.offset = end + 1;
        SpoolEntry entry;
        if (scan_spool_line(line, now_ms, max_age_, entry) != SpoolLine::kOk) {
          ++dropped_;
          h.changed = true;
          continue;
        }
        marks.push_back(SpoolMark{h.number, static_cast<std::uint32_t>(h.lines.size())});
        h.lines.emplace_back(static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(end + 1 - start));
        h.states.push_back(LineState::kPending);
        ++h.outstanding;
        out.push_back(std::move(entry));
      }
      if (h.read_to_end) settle(held_.size() - 1);
    }
  } catch (...) {
  }
  return false;
}

void Spool::gone(SpoolMark mark) noexcept {
  for (std::size_t i = 0; i < held_.size(); ++i) {
    Held& h = held_[i];
    if (h.number != mark.file || mark.line >= h.states.size()) continue;
    if (h.states[mark.line] != LineState::kPending) return;
    h.states[mark.line] = LineState::kGone;
    h.changed = true;
    --h.outstanding;
    settle(i);
    return;
  }
}

void Spool::give_back(SpoolMark mark) noexcept {
  for (Held& h : held_) {
    if (h.number != mark.file || mark.line >= h.states.size()) continue;
    if (h.states[mark.line] != LineState::kPending) return;
    h.states[mark.line] = LineState::kGivenBack;
    --h.outstanding;
    return;
  }
}

void Spool::settle(std::size_t index) noexcept {
  Held& h = held_[index];
  if (!h.read_to_end || h.outstanding > 0) return;
  if (std::find(h.states.begin(), h.states.end(), LineState::kGivenBack) != h.states.end()) return;
  unlinkat(dir_fd_, h.name.c_str(), 0);  // while locked: no other reader has it open and locked
  close_held(h);
  held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(index));
}

void Spool::close_held(Held& h) noexcept {
  if (h.fd >= 0) ::close(h.fd);
  h.fd = -1;
}

bool Spool::rewrite(Held& h) noexcept {
  try {
    std::string rest;
    for (std::size_t i = 0; i < h.lines.size(); ++i) {
      if (h.states[i] != LineState::kGone) rest.append(h.data, h.lines[i].first, h.lines[i].second);
    }
    rest.append(h.data, h.offset, std::string::npos);  // what was never read
    if (!rest.empty()) {
      const std::optional<FileName> old = parse_name(h.name.c_str());
      std::string name;
      int fd = -1;
      int error = 0;
      for (int attempt = 0; attempt < 4 && fd < 0; ++attempt) {
        name = "w-" + std::to_string(old ? old->ms : 0) + "-" + random_tag() + ".jsonl";
        fd = create_locked(dir_fd_, name, error);
        if (fd < 0 && error != EEXIST) break;
      }
      if (fd < 0) return false;
      std::size_t done = 0;
      std::string ready = name;
      ready[0] = 'r';
      if (!write_all(fd, rest, done) || fdatasync(fd) != 0 ||
          renameat(dir_fd_, name.c_str(), dir_fd_, ready.c_str()) != 0) {
        unlinkat(dir_fd_, name.c_str(), 0);
        ::close(fd);
        return false;
      }
      ::close(fd);
    }
    unlinkat(dir_fd_, h.name.c_str(), 0);
    return true;
  } catch (...) {
    return false;
  }
}

void Spool::release_files(bool time_left) noexcept {
  for (Held& h : held_) {
    if (h.changed && time_left && !rewrite(h)) {
      try {
        logger_.log(LogLevel::kWarn, "spool file " + dir_ + "/" + h.name +
                                         " left whole: what was sent from it may be sent again");
      } catch (...) {
      }
    }
    close_held(h);
  }
  held_.clear();
}

void Spool::abandon_after_fork() noexcept {
  // Closing our copies of the descriptors drops no lock: the parent's copies still hold them.
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
  file_bytes_ = 0;
  written_bytes_ = 0;
  for (Held& h : held_) close_held(h);
  held_.clear();
}

void Spool::survey() noexcept {
  if (root_.empty() || !enabled()) return;
  try {
    SpoolReport found;
    const int root_fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) return;
    const std::string own = dir_.substr(root_.size() + 1);
    std::size_t seen = 0;
    const auto count = [&](int fd) {
      for (const FileName& f : list_files(fd)) {
        if (++seen > kMaxListed) return;
        struct stat st {};
        if (fstatat(fd, f.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
        ++found.other_identity_files;
        found.other_identity_bytes += static_cast<std::uint64_t>(st.st_size);
        if (found.other_identity_oldest_unix_ms == 0 || f.ms < found.other_identity_oldest_unix_ms) {
          found.other_identity_oldest_unix_ms = f.ms;
        }
      }
    };
    count(root_fd);  // files of a version that kept no identity: never sent either
    const int copy = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* d = copy >= 0 ? fdopendir(copy) : nullptr;
    if (d == nullptr && copy >= 0) ::close(copy);
    std::vector<std::string> others;
    while (d != nullptr) {
      const dirent* e = readdir(d);
      if (e == nullptr) break;
      const std::string_view name(e->d_name);
      if (name.size() > 3 && name.substr(0, 3) == "id-" && name != own && others.size() < 1000) {
        others.emplace_back(name);
      }
    }
    if (d != nullptr) closedir(d);
    for (const std::string& other : others) {
      const int fd = openat(root_fd, other.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) continue;
      count(fd);
      ::close(fd);
    }
    ::close(root_fd);
    std::lock_guard<std::mutex> lock(report_mu_);
    report_.other_identity_files = found.other_identity_files;
    report_.other_identity_bytes = found.other_identity_bytes;
    report_.other_identity_oldest_unix_ms = found.other_identity_oldest_unix_ms;
  } catch (...) {
  }
}

SpoolReport Spool::report() const {
  std::lock_guard<std::mutex> lock(report_mu_);
  return report_;
}

}  // namespace opsmeter::detail
