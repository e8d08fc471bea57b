// The disk spool's own logic on real files in a temporary directory: lines and their checksums,
// bad and torn lines counted, files claimed once and deleted after their last record, the
// oldest files dropped at spool_max_bytes, expired lines dropped.
#include "delivery/spool.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

namespace opsmeter::detail {
namespace {

using test::TempDir;


std::string payload(const std::string& id) {
  return R"({"externalRequestId":")" + id + R"(","provider":"openai","model":"gpt-4o-mini"})";
}

std::int64_t now_ms() { return unix_ms(WallClock::now()); }

// Everything `reader` can read now.
std::vector<SpoolEntry> read_all(Spool& reader) {
  std::vector<SpoolEntry> got;
  std::vector<std::uint64_t> files;
  reader.read(1000000, got, files, WallClock::now());
  return got;
}

Logger& quiet_logger() {
  static Logger logger(LogLevel::kError, {});
  return logger;
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

TEST(Spool, WritesAFileThatIsClaimedOnceAndDeletedAfterItsLastRecord) {
  TempDir dir;
  {
    Spool writer(dir.path(), 64 << 20, Millis(86400000), quiet_logger());
    for (int i = 0; i < 3; ++i) writer.append(payload("ext_" + std::to_string(i)), now_ms());
    writer.close_file();
  }
  ASSERT_EQ(dir.files().size(), 1u);
  EXPECT_EQ(dir.files()[0].substr(0, 2), "r-");  // closed: ready for readers

  Spool first(dir.path(), 64 << 20, Millis(86400000), quiet_logger());
  Spool second(dir.path(), 64 << 20, Millis(86400000), quiet_logger());
  std::vector<SpoolEntry> got, none;
  std::vector<std::uint64_t> files, no_files;
  first.read(10, got, files, WallClock::now());
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].id, "ext_0");
  EXPECT_EQ(got[2].id, "ext_2");
  second.read(10, none, no_files, WallClock::now());
  EXPECT_TRUE(none.empty()) << "a claimed file is not read twice";
  ASSERT_EQ(dir.files().size(), 1u);
  EXPECT_EQ(dir.files()[0].substr(0, 2), "c-");
  first.ended(files[0]);
  first.ended(files[1]);
  EXPECT_EQ(dir.files().size(), 1u) << "kept until its last record ends";
  first.ended(files[2]);
  EXPECT_TRUE(dir.files().empty());
  EXPECT_EQ(first.take_dropped(), 0u);
}

TEST(Spool, CorruptAndTornLinesAreSkippedAndCounted) {
  TempDir dir;
  std::string corrupt = spool_line(payload("ext_bad"), now_ms());
  corrupt[20] ^= 1;
  const std::string torn = spool_line(payload("ext_torn"), now_ms()).substr(0, 30);
  std::ofstream(dir.path() + "/r-1-1-1.jsonl")
      << spool_line(payload("ext_0"), now_ms()) << spool_line(payload("ext_1"), now_ms()) << corrupt
      << spool_line(payload("ext_2"), now_ms()) << torn;
  Spool reader(dir.path(), 64 << 20, Millis(86400000), quiet_logger());
  const std::vector<SpoolEntry> got = read_all(reader);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].id, "ext_0");
  EXPECT_EQ(got[1].id, "ext_1");
  EXPECT_EQ(got[2].id, "ext_2");
  EXPECT_EQ(reader.take_dropped(), 2u);  // the corrupt line and the torn tail
}

TEST(Spool, LinesOlderThanMaxAgeAreDroppedAndCounted) {
  TempDir dir;
  std::ofstream(dir.path() + "/r-1-1-1.jsonl") << spool_line(payload("old"), now_ms() - 7200000)
                                                 << spool_line(payload("new"), now_ms());
  Spool reader(dir.path(), 64 << 20, Millis(3600000), quiet_logger());
  const std::vector<SpoolEntry> got = read_all(reader);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, "new");
  EXPECT_EQ(reader.take_dropped(), 1u);
}

TEST(Spool, AbandonedFilesOfADeadProcessAreClaimedLiveOnesAreNot) {
  TempDir dir;
  // pid 2^22 + 1 is above Linux's largest pid: no such process.
  const long dead = (1L << 22) + 1;
  std::ofstream(dir.path() + "/w-1-" + std::to_string(dead) + "-1.jsonl") << spool_line(payload("w_dead"), now_ms());
  std::ofstream(dir.path() + "/c-2-" + std::to_string(dead) + "-2.jsonl." + std::to_string(dead))
      << spool_line(payload("c_dead"), now_ms());
  std::ofstream(dir.path() + "/w-3-1-3.jsonl") << spool_line(payload("w_live"), now_ms());  // pid 1 lives
  Spool reader(dir.path(), 64 << 20, Millis(86400000), quiet_logger());
  const std::vector<SpoolEntry> got = read_all(reader);
  std::set<std::string> ids;
  for (const auto& e : got) ids.insert(e.id);
  EXPECT_EQ(ids, (std::set<std::string>{"w_dead", "c_dead"}));
}

TEST(Spool, AtMaxBytesTheOldestFilesAreDroppedAndCounted) {
  TempDir dir;
  constexpr std::uint64_t kMax = 64 * 1024;
  Spool writer(dir.path(), kMax, Millis(86400000), quiet_logger());
  const std::string line_payload = payload(std::string(200, 'x'));
  const std::size_t line_bytes = spool_line(line_payload, now_ms()).size();
  const int n = static_cast<int>(3 * kMax / line_bytes);  // three times the cap
  for (int i = 0; i < n; ++i) writer.append(payload("ext_" + std::to_string(i) + std::string(190, 'x')), now_ms());
  writer.close_file();
  const std::uint64_t dropped = writer.take_dropped();
  EXPECT_GT(dropped, static_cast<std::uint64_t>(n) / 2);
  EXPECT_LE(dir.bytes(), kMax);
  // What is left is the newest records, and every record is either left or counted.
  Spool reader(dir.path(), kMax, Millis(86400000), quiet_logger());
  const std::vector<SpoolEntry> got = read_all(reader);
  EXPECT_EQ(got.size() + dropped, static_cast<std::size_t>(n));
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back().id, "ext_" + std::to_string(n - 1) + std::string(190, 'x'));
  EXPECT_NE(got.front().id, "ext_0" + std::string(190, 'x'));
}

// A spool that cannot write (its directory is a regular file here) loses records, but never
// silently: each one is counted.
TEST(Spool, RecordsThatCannotBeWrittenAreCounted) {
  TempDir dir;
  const std::string not_a_directory = dir.path() + "/file";
  std::ofstream(not_a_directory) << "x";
  Spool writer(not_a_directory, 64 << 20, Millis(86400000), quiet_logger());
  for (int i = 0; i < 3; ++i) writer.append(payload("ext_" + std::to_string(i)), now_ms());
  writer.close_file();
  EXPECT_EQ(writer.take_dropped(), 3u);
  EXPECT_EQ(dir.files(), std::vector<std::string>{"file"});
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
