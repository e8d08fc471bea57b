// The disk spool's own logic on real files in a temporary directory: lines, their checksums and
// their times; files owned by flock() locks (two spools in one process are two owners, a file
// nobody holds is taken over); records gone, given back, and files replaced by what remains;
// planted files skipped and left in place; bounded reads; refused directories; partial writes
// cut back; the byte cap.
#include "delivery/spool.hpp"

#include "temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>

namespace opsmeter::detail {
namespace {

using test::TempDir;

constexpr const char* kIdentity = "id-0123456789abcdef";
constexpr std::uint64_t kCap = 64 << 20;
const Millis kDay{86400000};

std::string payload(const std::string& id) {
  return R"({"externalRequestId":")" + id + R"(","provider":"openai","model":"gpt-4o-mini"})";
}

std::int64_t now_ms() { return unix_ms(WallClock::now()); }

Logger& quiet_logger() {
  static Logger logger(LogLevel::kError, {});
  return logger;
}

// The spool's directory for kIdentity under `root`, with the names in it, sorted.
std::string identity_dir(const TempDir& root) { return root.path() + "/" + kIdentity; }
std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}
std::string contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct Read {
  std::vector<SpoolEntry> entries;
  std::vector<SpoolMark> marks;
  bool more = false;
};
Read read(Spool& reader, std::size_t max = 1000000) {
  Read r;
  r.more = reader.read(max, r.entries, r.marks, WallClock::now());
  return r;
}
std::set<std::string> ids_of(const Read& r) {
  std::set<std::string> ids;
  for (const auto& e : r.entries) ids.insert(e.id);
  return ids;
}

// Writes `ids` to a closed (r-) file of a spool on `root`.
void write_file(const TempDir& root, const std::vector<std::string>& ids) {
  Spool writer(root.path(), kIdentity, kCap, kDay, quiet_logger());
  ASSERT_TRUE(writer.enabled());
  for (const std::string& id : ids) writer.append(payload(id), now_ms());
  writer.close_file();
}

TEST(SpoolLine, RoundTripsAndRejectsWhatIsDamaged) {
  const std::string line = spool_line(payload("ext_1"), 1733000000123);
  ASSERT_EQ(line.back(), '\n');
  const std::string_view body(line.data(), line.size() - 1);
  const auto entry = parse_spool_line(body);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->id, "ext_1");
  EXPECT_EQ(entry->body, payload("ext_1"));
  EXPECT_EQ(entry->recorded_unix_ms, 1733000000123);

  std::string flipped(body);
  flipped[30] = flipped[30] == 'a' ? 'b' : 'a';  // one byte of the payload
  EXPECT_FALSE(parse_spool_line(flipped));
  EXPECT_FALSE(parse_spool_line(body.substr(0, body.size() - 5)));  // torn
  EXPECT_FALSE(parse_spool_line("not a spool line at all"));
  const std::string not_json = spool_line("{nope", 1);
  EXPECT_FALSE(parse_spool_line(std::string_view(not_json).substr(0, not_json.size() - 1)));
  const std::string no_id = spool_line(R"({"provider":"openai"})", 1);
  EXPECT_FALSE(parse_spool_line(std::string_view(no_id).substr(0, no_id.size() - 1)));
}

// The time field is read first and saturates: an expired line costs no checksum, a time of
// 25 digits does not overflow (UBSan), and a line dated beyond the skew never expires, so it is
// corrupt.
TEST(SpoolLine, AgeIsTestedFirstAndTimesSaturate) {
  const std::int64_t now = 1733000000000;
  const auto strip = [](const std::string& line) { return std::string_view(line).substr(0, line.size() - 1); };
  SpoolEntry e;
  std::string old = spool_line(payload("old"), now - 2 * kDay.count());
  old[0] = old[0] == '0' ? '1' : '0';  // a wrong checksum: never looked at
  EXPECT_EQ(scan_spool_line(strip(old), now, kDay, e), SpoolLine::kExpired);
  const std::string huge = spool_line(payload("huge"), 0).replace(9, 1, "9999999999999999999999999");
  EXPECT_EQ(scan_spool_line(strip(huge), now, kDay, e), SpoolLine::kCorrupt);
  const std::string future = spool_line(payload("future"), now + kSpoolFutureSkew.count() + 1000);
  EXPECT_EQ(scan_spool_line(strip(future), now, kDay, e), SpoolLine::kCorrupt);
  const std::string skewed = spool_line(payload("skewed"), now + 1000);  // a clock a second ahead
  ASSERT_EQ(scan_spool_line(strip(skewed), now, kDay, e), SpoolLine::kOk);
  EXPECT_EQ(e.id, "skewed");
}

TEST(SpoolIdentity, DiffersByKeyAndBaseUrlAndNeverHoldsTheKey) {
  const std::string a = spool_identity("https://api.opsmeter.io", "key-a");
  EXPECT_EQ(a.size(), 19u);
  EXPECT_EQ(a.rfind("id-", 0), 0u);
  EXPECT_EQ(a, spool_identity("https://api.opsmeter.io", "key-a"));
  EXPECT_NE(a, spool_identity("https://api.opsmeter.io", "key-b"));
  EXPECT_NE(a, spool_identity("https://staging.opsmeter.io", "key-a"));
  EXPECT_EQ(a.find("key-a"), std::string::npos);
}

TEST(Spool, AFileIsTakenByOneOwnerAndDeletedAfterItsLastRecordIsGone) {
  TempDir root;
  write_file(root, {"ext_0", "ext_1", "ext_2"});
  const std::string dir = identity_dir(root);
  ASSERT_EQ(files_in(dir).size(), 1u);
  EXPECT_EQ(files_in(dir)[0].substr(0, 2), "r-");  // closed: ready for readers

  // Two spools of one process are two owners.
  Spool first(root.path(), kIdentity, kCap, kDay, quiet_logger());
  Spool second(root.path(), kIdentity, kCap, kDay, quiet_logger());
  const Read got = read(first, 10);
  ASSERT_EQ(got.entries.size(), 3u);
  EXPECT_EQ(got.entries[0].id, "ext_0");
  EXPECT_EQ(got.entries[2].id, "ext_2");
  EXPECT_TRUE(read(second, 10).entries.empty()) << "a held file is not read twice";
  first.gone(got.marks[0]);
  first.gone(got.marks[1]);
  EXPECT_EQ(files_in(dir).size(), 1u) << "kept until its last record is gone";
  first.gone(got.marks[2]);
  EXPECT_TRUE(files_in(dir).empty());
  EXPECT_EQ(first.take_dropped(), 0u);
}

// Ownership is a lock, not a pid: a w- file nobody holds (its writer died) is taken; one a
// live owner holds is not, until that owner lets it go; then another spool of the same
// process takes it over.
TEST(Spool, AFileNobodyHoldsIsTakenAndAHeldOneOnlyOnceReleased) {
  TempDir root;
  const std::string dir = identity_dir(root);
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  std::ofstream(dir + "/w-1-deadwriter.jsonl") << spool_line(payload("abandoned"), now_ms());
  std::ofstream(dir + "/r-2-held.jsonl") << spool_line(payload("held"), now_ms());
  const int owner = ::open((dir + "/r-2-held.jsonl").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(owner, 0);
  ASSERT_EQ(flock(owner, LOCK_EX | LOCK_NB), 0);

  Spool reader(root.path(), kIdentity, kCap, kDay, quiet_logger());
  EXPECT_EQ(ids_of(read(reader)), (std::set<std::string>{"abandoned"}));
  ::close(owner);  // the owner is gone
  Spool first(root.path(), kIdentity, kCap, kDay, quiet_logger());
  const Read taken = read(first);
  EXPECT_EQ(ids_of(taken), (std::set<std::string>{"held"}));
  first.give_back(taken.marks[0]);
  first.release_files(true);  // nothing gone from it: released untouched
  Spool second(root.path(), kIdentity, kCap, kDay, quiet_logger());
  EXPECT_EQ(ids_of(read(second)), (std::set<std::string>{"held"})) << "taken over once released";
}

TEST(Spool, AtShutdownAFileKeepsExactlyWhatWasNotDelivered) {
  TempDir root;
  write_file(root, {"a", "b", "c", "d", "e"});
  const std::string dir = identity_dir(root);
  const std::string original = contents(dir + "/" + files_in(dir)[0]);
  {
    // Nothing gone: the file is given back untouched.
    Spool reader(root.path(), kIdentity, kCap, kDay, quiet_logger());
    const Read got = read(reader, 2);
    ASSERT_EQ(got.entries.size(), 2u);
    for (const SpoolMark& m : got.marks) reader.give_back(m);
    reader.release_files(true);
    ASSERT_EQ(files_in(dir).size(), 1u);
    EXPECT_EQ(contents(dir + "/" + files_in(dir)[0]), original);
  }
  {
    // "a" delivered, "b" given back, "c" to "e" never read: the file becomes b to e.
    Spool reader(root.path(), kIdentity, kCap, kDay, quiet_logger());
    const Read got = read(reader, 2);
    ASSERT_EQ(got.entries.size(), 2u);
    reader.gone(got.marks[0]);
    reader.give_back(got.marks[1]);
    reader.release_files(true);
  }
  Spool last(root.path(), kIdentity, kCap, kDay, quiet_logger());
  const Read rest = read(last);
  std::vector<std::string> ids;
  for (const auto& e : rest.entries) ids.push_back(e.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"b", "c", "d", "e"}));
  EXPECT_EQ(files_in(dir).size(), 1u);
}

TEST(Spool, CorruptAndTornLinesAreSkippedAndCounted) {
  TempDir root;
  const std::string dir = identity_dir(root);
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  std::string corrupt = spool_line(payload("ext_bad"), now_ms());
  corrupt[20] ^= 1;
  const std::string torn = spool_line(payload("ext_torn"), now_ms()).substr(0, 30);
  std::ofstream(dir + "/r-1-1.jsonl") << spool_line(payload("ext_0"), now_ms())
                                      << spool_line(payload("ext_1"), now_ms()) << corrupt
                                      << spool_line(payload("ext_2"), now_ms()) << torn;
  Spool reader(root.path(), kIdentity, kCap, kDay, quiet_logger());
  const Read got = read(reader);
  ASSERT_EQ(got.entries.size(), 3u);
  EXPECT_EQ(got.entries[0].id, "ext_0");
  EXPECT_EQ(got.entries[1].id, "ext_1");
  EXPECT_EQ(got.entries[2].id, "ext_2");
  EXPECT_EQ(reader.take_dropped(), 2u);  // the corrupt line and the torn tail
}

TEST(Spool, LinesOlderThanMaxAgeAreDroppedAndCounted) {
  TempDir root;
  const std::string dir = identity_dir(root);
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  std::ofstream(dir + "/r-1-1.jsonl") << spool_line(payload("old"), now_ms() - 7200000)
                                      << spool_line(payload("new"), now_ms());
  Spool reader(root.path(), kIdentity, kCap, Millis(3600000), quiet_logger());
  const Read got = read(reader);
  ASSERT_EQ(got.entries.size(), 1u);
  EXPECT_EQ(got.entries[0].id, "new");
  EXPECT_EQ(reader.take_dropped(), 1u);
}

// What is not a spool file of ours is skipped, counted once and left in place: a FIFO (which
// would block a plain open), a symbolic link to /dev/zero, a 3 GB sparse file, another user's
// file; the good file beside them is read.
TEST(Spool, PlantedFilesAreSkippedCountedAndLeftInPlace) {
  TempDir root;
  const std::string dir = identity_dir(root);
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(mkfifo((dir + "/r-1-fifo.jsonl").c_str(), 0600), 0);
  ASSERT_EQ(symlink("/dev/zero", (dir + "/r-2-zero.jsonl").c_str()), 0);
  {
    const int fd = ::open((dir + "/r-3-sparse.jsonl").c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, 3LL << 30), 0);
    ::close(fd);
  }
  std::ofstream(dir + "/r-4-good.jsonl") << spool_line(payload("good"), now_ms());
  std::size_t planted = 3;
  if (geteuid() == 0) {  // only root can give a file away
    std::ofstream(dir + "/r-0-other.jsonl") << spool_line(payload("other"), now_ms());
    ASSERT_EQ(chown((dir + "/r-0-other.jsonl").c_str(), 65534, 65534), 0);
    ++planted;
  }
  const std::vector<std::string> before = files_in(dir);
  Spool reader(root.path(), kIdentity, kCap, kDay, quiet_logger());
  const Read got = read(reader);
  EXPECT_EQ(ids_of(got), (std::set<std::string>{"good"}));
  EXPECT_EQ(reader.report().skipped_files, planted);
  read(reader);
  EXPECT_EQ(reader.report().skipped_files, planted) << "counted once each";
  EXPECT_EQ(files_in(dir), before) << "nothing deleted";
}

// A file that cannot be opened now (here: no descriptor left, EMFILE, once the first file has
// taken the last one) is left in place and counted, and read once it can be.
TEST(Spool, AFileThatCannotBeOpenedStaysAndIsReadLater) {
  TempDir root;
  const std::string dir = identity_dir(root);
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  std::ofstream(dir + "/r-1-first.jsonl") << spool_line(payload("first"), now_ms());
  std::ofstream(dir + "/r-2-later.jsonl") << spool_line(payload("later"), now_ms());
  Spool reader(root.path(), kIdentity, kCap, kDay, quiet_logger());
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  int highest = 0;
  for (int fd = 0; fd < 4096; ++fd) {
    if (fcntl(fd, F_GETFD) != -1) highest = fd;
  }
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(highest + 1);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
  std::vector<int> filler;  // the free numbers below the limit, taken but one
  for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) filler.push_back(fd);
  if (!filler.empty()) {
    ::close(filler.back());
    filler.pop_back();
  }
  const Read first = read(reader);
  for (int fd : filler) ::close(fd);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_FALSE(filler.empty() && first.entries.empty()) << "no descriptor was free to begin with";
  EXPECT_EQ(ids_of(first), (std::set<std::string>{"first"}));
  EXPECT_EQ(reader.report().skipped_files, 1u);
  EXPECT_EQ(files_in(dir).size(), 2u);
  EXPECT_EQ(reader.take_dropped(), 0u);
  EXPECT_EQ(ids_of(read(reader)), (std::set<std::string>{"later"}));
}

// One read() opens a bounded number of files, so a directory of thousands of empty files
// costs many short steps, not one long one.
TEST(Spool, OneReadDoesBoundedWork) {
  TempDir root;
  const std::string dir = identity_dir(root);
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  for (int i = 0; i < 300; ++i) std::ofstream(dir + "/r-" + std::to_string(i) + "-empty.jsonl");
  std::ofstream(dir + "/r-999-last.jsonl") << spool_line(payload("last"), now_ms());
  Spool reader(root.path(), kIdentity, kCap, kDay, quiet_logger());
  int reads = 0;
  Read got;
  do {
    got = read(reader);
    ++reads;
  } while (got.more && got.entries.empty() && reads < 100);
  EXPECT_GE(reads, 300 / 64);
  EXPECT_EQ(ids_of(got), (std::set<std::string>{"last"}));
  EXPECT_EQ(files_in(dir).size(), 1u) << "the empty files are deleted, the last is held";
}

TEST(Spool, ADirectoryOthersCanWriteIsRefused) {
  TempDir root;
  ASSERT_EQ(chmod(root.path().c_str(), 0777), 0);
  std::vector<std::string> logs;
  Logger logger(LogLevel::kDebug, [&](LogLevel, std::string_view line) { logs.emplace_back(line); });
  Spool spool(root.path(), kIdentity, kCap, kDay, logger);
  EXPECT_FALSE(spool.enabled());
  EXPECT_NE(spool.report().refused_reason.find("writable by group or others (mode 0777"), std::string::npos)
      << spool.report().refused_reason;
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_NE(logs[0].find("spool directory refused"), std::string::npos);
  EXPECT_TRUE(files_in(root.path()).empty()) << "nothing created in it";
}

TEST(Spool, AtMaxBytesTheOldestFilesAreDroppedAndCounted) {
  TempDir root;
  constexpr std::uint64_t kMax = 64 * 1024;
  Spool writer(root.path(), kIdentity, kMax, kDay, quiet_logger());
  const std::size_t line_bytes = spool_line(payload(std::string(200, 'x')), now_ms()).size();
  const int n = static_cast<int>(3 * kMax / line_bytes);  // three times the cap
  for (int i = 0; i < n; ++i) writer.append(payload("ext_" + std::to_string(i) + std::string(190, 'x')), now_ms());
  writer.close_file();
  const std::uint64_t dropped = writer.take_dropped();
  EXPECT_GT(dropped, static_cast<std::uint64_t>(n) / 2);
  std::uint64_t bytes = 0;
  for (const auto& e : std::filesystem::directory_iterator(identity_dir(root))) bytes += e.file_size();
  EXPECT_LE(bytes, kMax);
  // What is left is the newest records, and every record is either left or counted.
  Spool reader(root.path(), kIdentity, kMax, kDay, quiet_logger());
  const Read got = read(reader);
  EXPECT_EQ(got.entries.size() + dropped, static_cast<std::size_t>(n));
  ASSERT_FALSE(got.entries.empty());
  EXPECT_EQ(got.entries.back().id, "ext_" + std::to_string(n - 1) + std::string(190, 'x'));
  EXPECT_NE(got.entries.front().id, "ext_0" + std::string(190, 'x'));
}

// A write that stops part-way (here: the file size limit, EFBIG; a full disk is the same path)
// loses the lines that did not reach the file, counted, and leaves no torn line for the next
// one to be glued to.
TEST(Spool, APartialWriteIsCutBackToWholeLines) {
  TempDir root;
  Spool writer(root.path(), kIdentity, kCap, kDay, quiet_logger());
  const std::string line = spool_line(payload("ext_0"), now_ms());
  for (int i = 0; i < 10; ++i) writer.append(payload("ext_" + std::to_string(i)), now_ms());
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  const auto old_handler = signal(SIGXFSZ, SIG_IGN);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(line.size() * 3 + line.size() / 2);  // 3.5 lines fit
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &tight), 0);
  writer.flush();
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &saved), 0);
  signal(SIGXFSZ, old_handler);
  EXPECT_EQ(writer.take_dropped(), 7u);
  writer.append(payload("after"), now_ms());
  writer.close_file();
  EXPECT_EQ(writer.take_dropped(), 0u);
  Spool reader(root.path(), kIdentity, kCap, kDay, quiet_logger());
  const Read got = read(reader);
  EXPECT_EQ(ids_of(got), (std::set<std::string>{"ext_0", "ext_1", "ext_2", "after"}));
  EXPECT_EQ(reader.take_dropped(), 0u) << "no torn line left behind";
}

// A spool that cannot make its directory (spool.dir is a regular file here) loses records, but
// never silently: each one is counted.
TEST(Spool, RecordsThatCannotBeWrittenAreCounted) {
  TempDir root;
  const std::string not_a_directory = root.path() + "/file";
  std::ofstream(not_a_directory) << "x";
  Spool writer(not_a_directory, kIdentity, kCap, kDay, quiet_logger());
  EXPECT_FALSE(writer.enabled());
  for (int i = 0; i < 3; ++i) writer.append(payload("ext_" + std::to_string(i)), now_ms());
  writer.close_file();
  EXPECT_EQ(writer.take_dropped(), 3u);
  EXPECT_EQ(root.files(), std::vector<std::string>{"file"});
}

// The README's example line is a real one: its checksum holds.
TEST(SpoolLine, TheReadmeExampleParses) {
  std::ifstream readme(OPSMETER_README);
  std::string text((std::istreambuf_iterator<char>(readme)), std::istreambuf_iterator<char>());
  const std::size_t section = text.find("### The disk spool");
  ASSERT_NE(section, std::string::npos);
  const std::size_t start = text.find("```text\n", section);
  ASSERT_NE(start, std::string::npos);
  const std::size_t begin = start + 8;
  const std::string line = text.substr(begin, text.find('\n', begin) - begin);
  const auto entry = parse_spool_line(line);
  ASSERT_TRUE(entry.has_value()) << line;
  EXPECT_EQ(entry->id.rfind("ext_", 0), 0u);
  EXPECT_NE(entry->body.find("\"recordedAt\":\""), std::string::npos);
}

}  // namespace
}  // namespace opsmeter::detail
