// The disk spool's files (see spool_files.hpp).
#include "delivery/spool_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <tuple>

#include "base/random.hpp"

namespace opsmeter::detail::spool_files {

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
            [](const FileName& x, const FileName& y) {
              // By time, then by the rest of the name (a writer's sequence number), whatever the state.
              const std::string_view rest_x = std::string_view(x.name).substr(2);
              const std::string_view rest_y = std::string_view(y.name).substr(2);
              return std::tie(x.ms, rest_x) < std::tie(y.ms, rest_y);
            });
  return files;
}

std::string writer_name(long long ms, std::uint64_t sequence) {
  char seq[24];
  std::snprintf(seq, sizeof seq, "%08llu", static_cast<unsigned long long>(sequence % 100000000));
  return "w-" + std::to_string(ms) + "-" + seq + "-" + random_tag() + ".jsonl";
}

std::string random_tag() {
  char tag[17];
  std::snprintf(tag, sizeof tag, "%016llx", static_cast<unsigned long long>(random_seed()));
  return tag;
}

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

// A reader may lock a file between its creation and our lock: then the caller makes another.
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

}  // namespace opsmeter::detail::spool_files
