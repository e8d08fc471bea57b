// The disk spool's reader: files taken, records read, gone and given back, files settled,
// rewritten and released, and the survey of other identities (see spool.hpp).
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

// What one read() may do: open this many files and read this many bytes.
constexpr int kFilesPerRead = 64;
constexpr std::uint64_t kBytesPerRead = 4 << 20;
constexpr std::size_t kMaxSkippedNames = 1000;

}  // namespace

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
  const std::size_t i = pending(mark);
  if (i == held_.size()) return;
  Held& h = held_[i];
  h.states[mark.line] = LineState::kGone;
  h.changed = true;
  --h.outstanding;
  settle(i);
}

void Spool::give_back(SpoolMark mark) noexcept {
  const std::size_t i = pending(mark);
  if (i == held_.size()) return;
  held_[i].states[mark.line] = LineState::kGivenBack;
  --held_[i].outstanding;
}

std::size_t Spool::pending(SpoolMark mark) const noexcept {
  for (std::size_t i = 0; i < held_.size(); ++i) {
    const Held& h = held_[i];
    if (h.number != mark.file || mark.line >= h.states.size()) continue;
    return h.states[mark.line] == LineState::kPending ? i : held_.size();
  }
  return held_.size();
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
      // The same place in the order as the file it replaces (its time and sequence: the name
      // up to the tag), with a new tag.
      const std::string place = h.name.substr(2, h.name.rfind('-') - 1);
      std::string name;
      int error = 0;
      const int fd = create_new_locked(dir_fd_, [&] { return "w-" + place + random_tag() + ".jsonl"; }, name, error);
      if (fd < 0) return false;
      std::size_t done = 0;
      if (!write_all(fd, rest, done) || fdatasync(fd) != 0 ||
          renameat(dir_fd_, name.c_str(), dir_fd_, ready_name(name).c_str()) != 0) {
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

void describe(const SpoolReport& spool, ClientStatus& st) {
  st.spool_path = spool.path;
  st.spool_other_identity_files = spool.other_identity_files;
  st.spool_other_identity_bytes = spool.other_identity_bytes;
  if (spool.other_identity_oldest_unix_ms > 0) {
    st.spool_other_identity_oldest =
        std::chrono::system_clock::time_point(std::chrono::milliseconds(spool.other_identity_oldest_unix_ms));
  }
  st.spool_skipped_files = spool.skipped_files;
}

}  // namespace opsmeter::detail
