// Spool files from any writer (torn, corrupt, planted): the reader takes the bytes as a file,
// every line is either read or counted as dropped, and a file left with some records gone and
// the others given back holds exactly those others afterwards. The line parser underneath
// never overflows (UBSan) or throws.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/spool.hpp"

using namespace opsmeter::detail;

namespace {

// Never destroyed: the exit handler that removes the directory runs after static destructors
// of objects made later, and would otherwise read a freed string.
const std::string& root() {
  static const std::string* const dir = [] {
    // In memory where there is a tmpfs: a rewrite syncs its file.
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm"
                                                                                 : std::filesystem::temp_directory_path();
    std::string pattern = (base / "opsmeter-fuzz-spool-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    auto* made = new std::string(std::move(pattern));
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(root(), ignored);
    });
    return made;
  }();
  return *dir;
}

Logger& quiet() {
  static Logger logger(opsmeter::LogLevel::kError, {});
  return logger;
}

constexpr const char* kIdentity = "id-fuzz";
const WallClock::time_point kNow = WallClock::from_time_t(1764374400);  // 2025-11-29

std::uint64_t lines_in(std::string_view data) {
  std::uint64_t n = 0;
  std::size_t start = 0;
  for (std::size_t end; (end = data.find('\n', start)) != std::string_view::npos; start = end + 1) ++n;
  return n + (start < data.size() ? 1 : 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view data(reinterpret_cast<const char*>(bytes), size);
  if (size > (1 << 20)) return 0;  // a spool file is at most a roll size and a line
  // The line parser alone, on the whole input and at a time that saturates.
  SpoolEntry entry;
  (void)scan_spool_line(data, 1764374400000, Millis(86400000), entry);
  (void)scan_spool_line(data, INT64_MAX, Millis(INT64_MAX), entry);

  const std::string dir = root() + "/" + kIdentity;
  std::filesystem::remove_all(dir);
  mkdir(dir.c_str(), 0700);
  const std::string path = dir + "/r-1-fuzz.jsonl";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  std::fwrite(data.data(), 1, data.size(), f);
  std::fclose(f);

  std::vector<SpoolEntry> got;
  std::vector<SpoolMark> marks;
  std::vector<std::string> kept;
  {
    Spool reader(root(), kIdentity, 64 << 20, Millis(86400000), quiet());
    if (!reader.enabled()) std::abort();
    reader.read(1000000, got, marks, kNow);
    if (got.size() + reader.take_dropped() != lines_in(data)) std::abort();  // each line read or counted
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (got[i].id.empty()) std::abort();
      if (i % 2 == 0) {
        reader.gone(marks[i]);
      } else {
        reader.give_back(marks[i]);
        kept.push_back(got[i].id);
      }
    }
    reader.release_files(true);
  }
  // Read again: exactly the records given back are left (the bad lines went with the rewrite,
  // or the file was left untouched when nothing was gone).
  Spool again(root(), kIdentity, 64 << 20, Millis(86400000), quiet());
  std::vector<SpoolEntry> left;
  std::vector<SpoolMark> left_marks;
  again.read(1000000, left, left_marks, kNow);
  if (got.size() > 0) {
    if (left.size() != kept.size()) std::abort();
    for (std::size_t i = 0; i < kept.size(); ++i) {
      if (left[i].id != kept[i]) std::abort();
    }
  }
  for (const SpoolMark& m : left_marks) again.give_back(m);
  again.release_files(false);
  return 0;
}
