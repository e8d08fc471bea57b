// The disk spool: its directory, the writer and the cap (see spool.hpp; the reader is in
// spool_reader.cpp, names and locked files in spool_files.cpp).
#include "delivery/spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "delivery/spool_files.hpp"

namespace opsmeter::detail {

using namespace spool_files;

namespace {

constexpr std::size_t kBufferBytes = 64 * 1024;
constexpr std::uint64_t kMaxLineBytes = 1 << 20;  // a record's line, with room to spare

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
    fd_ = create_new_locked(dir_fd_, [this] { return writer_name(first_recorded_ms_, ++sequence_); }, name_, error);
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
    if (renameat(dir_fd_, name_.c_str(), dir_fd_, ready_name(name_).c_str()) != 0) {
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
          logger_.log(LogLevel::kWarn, "spool over spool.max_bytes (" + std::to_string(max_bytes_) +
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
      logger_.log(LogLevel::kWarn, "spool over spool.max_bytes (" + std::to_string(max_bytes_) +
                                       "): dropped this process's oldest spooled records");
    }
    total_ = total;
  } catch (...) {
    total_.reset();
  }
}

}  // namespace opsmeter::detail
