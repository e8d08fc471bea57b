// The disk spool: file names, lines, claims (see spool.hpp).
#include "delivery/spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <tuple>

namespace opsmeter::detail {
namespace {

constexpr std::size_t kBufferBytes = 64 * 1024;

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

// A spool file's name: `<state>-<unix ms>-<pid>-<n>.jsonl[.<reader pid>]`, state w, r or c.
struct FileName {
  std::string name;  // the whole name
  char state = 0;
  long long ms = 0;
  long pid = 0;
  unsigned long long n = 0;
  long reader = 0;  // for state c
  std::string base;  // `<unix ms>-<pid>-<n>.jsonl`
};

std::optional<FileName> parse_name(const std::string& name) {
  FileName f;
  f.name = name;
  int used = 0;
  if (name.size() < 2 || name[1] != '-') return std::nullopt;
  f.state = name[0];
  if (f.state != 'w' && f.state != 'r' && f.state != 'c') return std::nullopt;
  if (std::sscanf(name.c_str() + 2, "%lld-%ld-%llu.jsonl%n", &f.ms, &f.pid, &f.n, &used) != 3 || used == 0) {
    return std::nullopt;
  }
  const std::string rest = name.substr(2 + static_cast<std::size_t>(used));
  f.base = name.substr(2, static_cast<std::size_t>(used));
  if (f.state == 'c') {
    if (rest.size() < 2 || rest[0] != '.') return std::nullopt;
    char* end = nullptr;
    f.reader = std::strtol(rest.c_str() + 1, &end, 10);
    if (*end != '\0' || f.reader <= 0) return std::nullopt;
  } else if (!rest.empty()) {
    return std::nullopt;
  }
  return f;
}

bool process_alive(long pid) {
  return pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

// Whether a live process (or `own_pid`) still writes or reads the file; every other file may
// be claimed: a ready one, or one whose writer or reader is gone.
bool in_use(const FileName& f, long own_pid) {
  return (f.state == 'w' && (f.pid == own_pid || process_alive(f.pid))) ||
         (f.state == 'c' && (f.reader == own_pid || process_alive(f.reader)));
}

// The spool files in `dir`, oldest first: by the time in the name, then pid and number.
std::vector<FileName> list_files(const std::string& dir) {
  std::vector<FileName> files;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return files;
  while (dirent* e = readdir(d)) {
    if (std::optional<FileName> f = parse_name(e->d_name)) files.push_back(std::move(*f));
  }
  closedir(d);
  std::sort(files.begin(), files.end(), [](const FileName& x, const FileName& y) {
    return std::tie(x.ms, x.pid, x.n) < std::tie(y.ms, y.pid, y.n);
  });
  return files;
}

std::size_t count_lines(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return 0;
  std::size_t lines = 0;
  bool partial = false;
  char buffer[8192];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) {
    lines += static_cast<std::size_t>(std::count(buffer, buffer + n, '\n'));
    partial = buffer[n - 1] != '\n';
  }
  std::fclose(f);
  return lines + (partial ? 1 : 0);
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

std::optional<SpoolEntry> parse_spool_line(std::string_view line) {
  if (line.size() < 12 || line[8] != '\t') return std::nullopt;
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    const char c = line[i];
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return std::nullopt;
    sum = sum << 4 | static_cast<std::uint32_t>(digit);
  }
  const std::string_view rest = line.substr(9);
  if (crc32(rest) != sum) return std::nullopt;
  const std::size_t tab = rest.find('\t');
  if (tab == std::string_view::npos || tab == 0 || tab > 19) return std::nullopt;
  SpoolEntry entry;
  for (char c : rest.substr(0, tab)) {
    if (c < '0' || c > '9') return std::nullopt;
    entry.recorded_unix_ms = entry.recorded_unix_ms * 10 + (c - '0');
  }
  entry.body = std::string(rest.substr(tab + 1));
  const nlohmann::json json = nlohmann::json::parse(entry.body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return std::nullopt;
  const auto id = json.find("externalRequestId");
  if (id == json.end() || !id->is_string() || id->get_ref<const std::string&>().empty()) return std::nullopt;
  entry.id = id->get<std::string>();
  return entry;
}

Spool::Spool(std::string dir, std::uint64_t max_bytes, Millis max_age, Logger& logger)
    : dir_(std::move(dir)),
      max_bytes_(max_bytes),
      roll_bytes_(std::clamp<std::uint64_t>(max_bytes / 8, 4096, 1 << 20)),
      max_age_(max_age),
      logger_(logger),
      pid_(getpid()) {
  if (!dir_.empty() && mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    logger_.log(LogLevel::kError, "spool directory " + dir_ + " cannot be created: " + std::strerror(errno) +
                                      "; records that would be spooled are dropped");
  }
}

Spool::~Spool() { close_file(); }

void Spool::append(std::string_view body, std::int64_t recorded_unix_ms) {
  const std::string line = spool_line(body, recorded_unix_ms);
  enforce_max_bytes(line.size());
  if (fd_ < 0 && buffer_.empty()) first_recorded_ms_ = recorded_unix_ms;  // names the next file
  buffer_ += line;
  file_bytes_ += line.size();
  if (buffer_.size() >= kBufferBytes) flush();
  if (file_bytes_ >= roll_bytes_) close_file();
}

bool Spool::open_file() noexcept {
  try {
    const std::string base = std::to_string(first_recorded_ms_) + "-" + std::to_string(pid_) + "-" +
                             std::to_string(++sequence_) + ".jsonl";
    path_ = dir_ + "/w-" + base;
  } catch (...) {
    return false;
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  const int error = errno;
  try {
    if (fd_ >= 0) logger_.log(LogLevel::kInfo, "spooling records to " + path_);
    if (fd_ < 0 && !warned_) {
      warned_ = true;
      logger_.log(LogLevel::kError, "spool file " + path_ + " cannot be created: " + std::strerror(error));
    }
  } catch (...) {  // out of memory for the message: the count still says it
  }
  return fd_ >= 0;
}

void Spool::flush() noexcept {
  if (buffer_.empty()) return;
  if (fd_ < 0 && !open_file()) {
    dropped_ += static_cast<std::uint64_t>(std::count(buffer_.begin(), buffer_.end(), '\n'));
    buffer_.clear();
    return;
  }
  std::size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // What did not reach the file is lost (a torn line is skipped by the reader).
      dropped_ += static_cast<std::uint64_t>(std::count(buffer_.begin() + static_cast<std::ptrdiff_t>(done), buffer_.end(), '\n'));
      const int error = errno;
      if (!warned_) {
        warned_ = true;
        try {
          logger_.log(LogLevel::kError, "spool write to " + path_ + " failed: " + std::strerror(error));
        } catch (...) {
        }
      }
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  buffer_.clear();
}

void Spool::close_file() noexcept {
  flush();
  if (fd_ < 0) return;
  fdatasync(fd_);
  ::close(fd_);
  fd_ = -1;
  file_bytes_ = 0;
  try {
    std::string ready = path_;
    ready[dir_.size() + 1] = 'r';
    if (::rename(path_.c_str(), ready.c_str()) != 0) {
      const int error = errno;
      logger_.log(LogLevel::kWarn, "spool file " + path_ + " cannot be renamed: " + std::strerror(error));
    }
  } catch (...) {  // out of memory: the file stays w-, and is claimed once this process is gone
  }
}

void Spool::log_shutdown(std::uint64_t count) noexcept {
  if (count == 0) return;
  try {
    logger_.log(LogLevel::kWarn, "shutdown spooled " + std::to_string(count) + " records to " + dir_ +
                                     "; a client started on this directory sends them");
  } catch (...) {
  }
}

// Over the cap, the oldest files go first, whole, their lines counted as dropped: files that
// are ready or abandoned, and this process's own open file last. The directory is listed only
// when the running total says the cap is reached; then room for a file's worth is made, so
// that the next appends do not list it again.
void Spool::enforce_max_bytes(std::size_t incoming) noexcept {
  if (total_ && *total_ + incoming <= max_bytes_) {
    *total_ += incoming;
    return;
  }
  try {
    const std::uint64_t target = max_bytes_ > roll_bytes_ ? max_bytes_ - roll_bytes_ : 0;
    std::vector<std::pair<std::string, std::uint64_t>> files;
    std::uint64_t total = buffer_.size() + incoming;
    for (const FileName& f : list_files(dir_)) {
      struct stat st {};
      const std::string path = dir_ + "/" + f.name;
      if (stat(path.c_str(), &st) != 0) continue;
      total += static_cast<std::uint64_t>(st.st_size);
      if (!in_use(f, pid_)) files.emplace_back(path, static_cast<std::uint64_t>(st.st_size));
    }
    if (total <= max_bytes_) {
      total_ = total;
      return;
    }
    for (const auto& [path, size] : files) {
      if (total <= target) break;
      const std::size_t lines = count_lines(path);
      if (::unlink(path.c_str()) == 0) {
        dropped_ += lines;
        total -= size;
        logger_.log(LogLevel::kWarn, "spool over spool_max_bytes (" + std::to_string(max_bytes_) +
                                         "): dropped its oldest " + std::to_string(lines) + " records");
      }
    }
    if (total > max_bytes_ && fd_ >= 0) {
      // Only this process's own file is left to make room: it goes, oldest of what remains.
      flush();
      ::close(fd_);
      fd_ = -1;
      struct stat st {};
      if (stat(path_.c_str(), &st) == 0) total -= std::min<std::uint64_t>(total, static_cast<std::uint64_t>(st.st_size));
      dropped_ += count_lines(path_);
      ::unlink(path_.c_str());
      file_bytes_ = 0;
      logger_.log(LogLevel::kWarn, "spool over spool_max_bytes (" + std::to_string(max_bytes_) +
                                       "): dropped this process's oldest spooled records");
    }
    total_ = total;
  } catch (...) {
    total_.reset();
  }
}

bool Spool::claim(const std::string& name, const std::string& base) noexcept {
  try {
    const std::string from = dir_ + "/" + name;
    const std::string to = dir_ + "/c-" + base + "." + std::to_string(pid_);
    if (::rename(from.c_str(), to.c_str()) != 0) return false;  // another reader was first
    Claimed c;
    c.number = next_number_++;
    c.path = to;
    FILE* file = std::fopen(to.c_str(), "rb");
    if (file != nullptr) {
      char buffer[65536];
      std::size_t n = 0;
      while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) c.data.append(buffer, n);
      std::fclose(file);
    }
    claimed_.push_back(std::move(c));
    logger_.log(LogLevel::kInfo, "sending spooled records from " + to);
    return true;
  } catch (...) {
    return false;
  }
}

void Spool::read(std::size_t max, std::vector<SpoolEntry>& out, std::vector<std::uint64_t>& files,
                 WallClock::time_point now) noexcept {
  try {
    const std::int64_t now_ms = unix_ms(now);
    while (out.size() < max) {
      if (claimed_.empty() || claimed_.back().read_to_end) {
        bool found = false;
        for (const FileName& f : list_files(dir_)) {
          if (!in_use(f, pid_) && claim(f.name, f.base)) {
            found = true;
            break;
          }
        }
        if (!found) return;
      }
      Claimed& c = claimed_.back();
      while (out.size() < max && !c.read_to_end) {
        const std::size_t end = c.data.find('\n', c.offset);
        if (end == std::string::npos) {
          if (c.offset < c.data.size()) ++dropped_;  // a torn last line
          c.read_to_end = true;
          break;
        }
        const std::string_view line(c.data.data() + c.offset, end - c.offset);
        c.offset = end + 1;
        std::optional<SpoolEntry> entry = parse_spool_line(line);
        if (!entry || now_ms - entry->recorded_unix_ms > max_age_.count()) {
          ++dropped_;
          continue;
        }
        out.push_back(std::move(*entry));
        files.push_back(c.number);
        ++c.outstanding;
      }
      if (c.read_to_end) {
        c.data.clear();
        c.data.shrink_to_fit();
        release_if_done(claimed_.size() - 1);
      }
    }
  } catch (...) {
  }
}

void Spool::ended(std::uint64_t file) noexcept {
  for (std::size_t i = 0; i < claimed_.size(); ++i) {
    if (claimed_[i].number != file) continue;
    if (claimed_[i].outstanding > 0) --claimed_[i].outstanding;
    release_if_done(i);
    return;
  }
}

void Spool::release_if_done(std::size_t index) noexcept {
  Claimed& c = claimed_[index];
  if (!c.read_to_end || c.outstanding > 0) return;
  ::unlink(c.path.c_str());
  claimed_.erase(claimed_.begin() + static_cast<std::ptrdiff_t>(index));
}

}  // namespace opsmeter::detail
