// The disk spool through the public API, over loopback: a process killed after its shutdown
// spooled its records, and a new client on the same directory that delivers every one once; a
// spool file with a corrupt and a torn line; two clients started on one directory at once;
// records moved to the spool during an outage so that record() keeps finding room, and sent by
// the same client when the ingest API is back; the byte cap; and what a red-team pass found:
// clients started again and again during an outage, pid namespaces, another API key or base
// URL on the same directory, planted files, thousands of files, expired bulk.
#include <fcntl.h>
#include <sys/stat.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "capture.hpp"
#include "delivery/spool.hpp"
#include "opsmeter/client.hpp"
#include "opsmeter/serialize.hpp"
#include "opsmeter/testing/mock_ingest_server.hpp"
#include "opsmeter/testing/support.hpp"
#include "temp_dir.hpp"
#include "test_client.hpp"

namespace opsmeter {
namespace {

using namespace std::chrono_literals;
using test::TempDir;
using testing::MockIngestOptions;
using testing::MockIngestServer;


// A base URL where nothing listens, on `port`.
std::string loopback_url(int port) { return "http://127.0.0.1:" + std::to_string(port); }

Options spool_options(const std::string& base_url, const std::string& dir) {
  Options o;
  o.api_key = "test-key";
  o.base_url = base_url;
  o.spool.dir = dir;
  o.log_level = LogLevel::kError;
  o.timeout = 5s;  // a loaded machine must not turn a slow answer into a resend
  return o;
}

std::size_t TempDirFiles(const std::string& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

std::set<std::string> stored_ids(const MockIngestServer& server) {
  std::set<std::string> ids;
  for (const auto& r : server.requests()) ids.insert(r.external_request_id);
  return ids;
}

std::int64_t now_ms() { return detail::unix_ms(detail::WallClock::now()); }

// The directory under `root` that holds the spool of `base_url` with the tests' key, made.
std::string identity_dir(const std::string& root, const std::string& base_url) {
  const std::string dir = root + "/" + detail::spool_identity(base_url, "test-key");
  mkdir(dir.c_str(), 0700);
  return dir;
}

// Every line of every spool file under `dir`, as ids (counted, so that copies show).
std::multiset<std::string> spooled_ids(const std::string& dir) {
  std::multiset<std::string> ids;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(e.path());
    for (std::string line; std::getline(in, line);) {
      if (const auto entry = detail::parse_spool_line(line)) ids.insert(entry->id);
    }
  }
  return ids;
}

long rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

// Runs the helper (behind `prefix`, e.g. unshare, when given), reads its "pid P", "spooled N"
// and ids, then kills it with SIGKILL.
struct HelperRun {
  long pid = 0;
  std::uint64_t spooled = 0;
  std::vector<std::string> ids;
  int signal = 0;
};

HelperRun run_helper_and_kill(const std::string& dir, const std::string& base_url, int count,
                              const std::vector<std::string>& prefix = {}, const std::string& mode = "",
                              const std::function<void(const HelperRun&)>& before_kill = {}) {
  HelperRun run;
  int out[2];
  if (pipe(out) != 0) return run;
  std::vector<std::string> args = prefix;
  args.push_back(OPSMETER_SPOOL_HELPER);
  if (!mode.empty()) args.push_back(mode);
  for (const std::string& a : {dir, base_url, std::to_string(count)}) args.push_back(a);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buffer[65536];
  // Reads until the last id's line arrived (the helper then waits to be killed); a helper that
  // dies early ends the read with EOF.
  const auto lines = [&] { return static_cast<int>(std::count(text.begin(), text.end(), '\n')); };
  while (lines() < count + 2) {
    const ssize_t got = read(out[0], buffer, sizeof buffer);
    if (got <= 0) break;
    text.append(buffer, static_cast<std::size_t>(got));
  }
  close(out[0]);
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    const std::string line = text.substr(start, end - start);
    if (line.rfind("pid ", 0) == 0) {
      run.pid = std::stol(line.substr(4));
    } else if (line.rfind("spooled ", 0) == 0) {
      run.spooled = std::stoull(line.substr(8));
    } else {
      run.ids.push_back(line);
    }
  }
  if (before_kill) before_kill(run);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  run.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  return run;
}

// Runs the helper's deliver mode (behind `prefix`) to its end; its "pid" and "delivered" lines.
std::pair<long, std::uint64_t> run_deliverer(const std::string& dir, const std::string& base_url, std::uint64_t count,
                                             const std::vector<std::string>& prefix) {
  std::string command;
  for (const std::string& a : prefix) command += a + " ";
  command += std::string(OPSMETER_SPOOL_HELPER) + " deliver " + dir + " " + base_url + " " + std::to_string(count);
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return {0, 0};
  long pid = 0;
  unsigned long long delivered = 0;
  char line[256];
  while (std::fgets(line, sizeof line, p) != nullptr) {
    std::sscanf(line, "pid %ld", &pid);
    std::sscanf(line, "delivered %llu", &delivered);
  }
  pclose(p);
  return {pid, delivered};
}

TEST(SpoolDelivery, AProcessKilledAfterItsShutdownSpooledLosesNothing) {
  TempDir dir;
  const int port = testing::unused_loopback_port();
  const HelperRun run = run_helper_and_kill(dir.path(), loopback_url(port), 1000);
  EXPECT_EQ(run.signal, SIGKILL);
  ASSERT_EQ(run.spooled, 1000u);
  ASSERT_EQ(run.ids.size(), 1000u);
  const std::string spool = identity_dir(dir.path(), loopback_url(port));
  EXPECT_GE(TempDirFiles(spool), 1u);

  MockIngestOptions same_port;  // the same base URL: the same identity
  same_port.port = port;
  MockIngestServer server(same_port);
  ASSERT_TRUE(server.start()) << server.last_error();
  Client client = test::make_client(spool_options(server.base_url(), dir.path()));
  ASSERT_TRUE(test::eventually([&] { return client.stats().delivered >= 1000; }, 60s));
  ASSERT_EQ(client.flush(30s), FlushResult::kFlushed);
  const Stats s = client.stats();
  EXPECT_EQ(s.unspooled, 1000u);
  EXPECT_EQ(s.delivered, 1000u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.spool_dropped, 0u);
  EXPECT_EQ(s.recorded + s.unspooled, s.delivered + s.dropped + s.pending() + s.spooled);
  EXPECT_EQ(server.stored_count(), 1000u);
  EXPECT_EQ(server.request_count(), 1000u);  // each id sent once
  EXPECT_EQ(stored_ids(server), std::set<std::string>(run.ids.begin(), run.ids.end()));
  // Late records say when they happened.
  for (const std::string& body : server.stored_bodies()) {
    ASSERT_NE(body.find("\"recordedAt\":\""), std::string::npos) << body;
  }
  EXPECT_TRUE(test::eventually([&] { return TempDirFiles(spool) == 0; }, 10s)) << "the spool file is deleted";
}

TEST(SpoolDelivery, CorruptAndTornLinesAreCountedAndTheRestDelivered) {
  TempDir dir;
  MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  std::set<std::string> good;
  std::ofstream file(identity_dir(dir.path(), server.base_url()) + "/r-1-1-1.jsonl");
  for (int i = 0; i < 10; ++i) {
    const LlmCallRecord r = testing::sample_record();
    good.insert(r.external_request_id);
    file << detail::spool_line(to_json(r), now_ms());
    if (i == 4) {
      std::string corrupt = detail::spool_line(to_json(testing::sample_record()), now_ms());
      corrupt[40] = corrupt[40] == '"' ? 'x' : '"';
      file << corrupt;
    }
  }
  file << detail::spool_line(to_json(testing::sample_record()), now_ms()).substr(0, 50);  // torn
  file.close();

  Client client = test::make_client(spool_options(server.base_url(), dir.path()));
  ASSERT_TRUE(test::eventually([&] { return client.stats().delivered >= 10; }, 30s));
  ASSERT_TRUE(test::eventually([&] { return client.stats().spool_dropped >= 2; }, 10s));
  const Stats s = client.stats();
  EXPECT_EQ(s.unspooled, 10u);
  EXPECT_EQ(s.delivered, 10u);
  EXPECT_EQ(s.spool_dropped, 2u);
  EXPECT_EQ(stored_ids(server), good);
}

TEST(SpoolDelivery, TwoClientsStartedOnOneDirectoryNeverSendTheSameId) {
  TempDir dir;
  MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  const std::string spool = identity_dir(dir.path(), server.base_url());
  std::set<std::string> all;
  for (int f = 0; f < 8; ++f) {
    std::ofstream file(spool + "/r-" + std::to_string(1000 + f) + "-1-" + std::to_string(f) + ".jsonl");
    for (int i = 0; i < 125; ++i) {
      const LlmCallRecord r = testing::sample_record();
      all.insert(r.external_request_id);
      file << detail::spool_line(to_json(r), now_ms());
    }
  }
  Client a = test::make_client(spool_options(server.base_url(), dir.path()));
  Client b = test::make_client(spool_options(server.base_url(), dir.path()));
  ASSERT_TRUE(test::eventually([&] { return a.stats().delivered + b.stats().delivered >= 1000; }, 60s));
  EXPECT_EQ(a.stats().unspooled + b.stats().unspooled, 1000u);
  EXPECT_EQ(server.request_count(), 1000u) << "no id was sent by both";
  EXPECT_EQ(stored_ids(server), all);
}

TEST(SpoolDelivery, DuringAnOutageTheOldestQueuedGoToTheSpoolAndComeBackAfter) {
  TempDir dir;
  const int port = testing::unused_loopback_port();
  Options o = spool_options(loopback_url(port), dir.path());
  o.queue.capacity = 1000;
  o.outage_probe.min = 50ms;
  o.outage_probe.max = 200ms;
  Client client = test::make_client(o);
  std::set<std::string> ids;
  const auto record = [&](int n) {
    int queued = 0;
    for (int i = 0; i < n; ++i) {
      LlmCallRecord r = testing::sample_record();
      const std::string id = r.external_request_id;
      if (client.record(std::move(r)).queued()) {
        ids.insert(id);
        ++queued;
      }
    }
    return queued;
  };
  EXPECT_EQ(record(900), 900);
  // Above half the queue, the worker moves the oldest records to the spool (all but the half
  // and the few it had taken out before it knew the server was down)...
  ASSERT_TRUE(test::eventually([&] { return client.stats().queued <= 500; }, 10s))
      << "queued " << client.stats().queued << ", spooled " << client.stats().spooled;
  EXPECT_GE(client.stats().spooled, 900u - 500u - o.max_in_flight);
  // ...so that record() finds room for 500 more while the ingest API is still down.
  EXPECT_EQ(record(500), 500);

  MockIngestOptions same_port;
  same_port.port = port;
  MockIngestServer server(same_port);
  ASSERT_TRUE(server.start()) << server.last_error();
  ASSERT_TRUE(test::eventually([&] { return client.stats().delivered >= 1400; }, 60s));
  const Stats s = client.stats();
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.unspooled, s.spooled);
  EXPECT_EQ(server.request_count(), 1400u);
  EXPECT_EQ(stored_ids(server), ids);
}

TEST(SpoolDelivery, AtMaxBytesTheOldestRecordsAreDroppedAndCounted) {
  TempDir dir;
  const int port = testing::unused_loopback_port();
  Options o = spool_options(loopback_url(port), dir.path());
  o.spool.max_bytes = 64 * 1024;
  o.outage_probe.min = 1h;
  o.outage_probe.max = 1h;
  std::vector<std::string> ids;
  {
    Client client = test::make_client(o);
    for (int i = 0; i < 1000; ++i) {
      LlmCallRecord r = testing::sample_record();
      ids.push_back(r.external_request_id);
      ASSERT_TRUE(client.record(std::move(r)).queued());
    }
    const auto start = std::chrono::steady_clock::now();
    client.shutdown(4s);
    // It did not wait three quarters of the timeout for an ingest API it knows is unreachable:
    // it wrote the spool at once (the whole second that is left is room for sanitizer builds).
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
    const Stats s = client.stats();
    EXPECT_EQ(s.spooled, 1000u);
    EXPECT_GT(s.spool_dropped, 500u);
    std::uint64_t bytes = 0;
    for (const auto& e : std::filesystem::directory_iterator(identity_dir(dir.path(), o.base_url))) bytes += e.file_size();
    EXPECT_LE(bytes, 64u * 1024);
  }
  MockIngestOptions same_port;
  same_port.port = port;
  MockIngestServer server(same_port);
  ASSERT_TRUE(server.start()) << server.last_error();
  Client reader = test::make_client(spool_options(server.base_url(), dir.path()));
  const std::string spool = identity_dir(dir.path(), server.base_url());
  ASSERT_TRUE(test::eventually([&] { return TempDirFiles(spool) == 0; }, 30s));
  ASSERT_EQ(reader.flush(30s), FlushResult::kFlushed);
  const std::set<std::string> stored = stored_ids(server);
  EXPECT_GT(stored.size(), 50u);
  EXPECT_EQ(stored.count(ids.back()), 1u) << "the newest are kept";
  EXPECT_EQ(stored.count(ids.front()), 0u) << "the oldest were dropped";
}

// A crash loop, a cron job or CLI runs during an outage: 100 records spooled, then 30 clients
// each start, record one and stop while the ingest API is still down. Each record is on disk
// once, and afterwards the server receives each id once.
TEST(SpoolDelivery, ClientsStartedAgainAndAgainDuringAnOutageLeaveEachRecordOnDiskOnce) {
  TempDir dir;
  const int port = testing::unused_loopback_port();
  Options o = spool_options(loopback_url(port), dir.path());
  o.outage_probe.min = 1h;
  o.outage_probe.max = 1h;
  std::set<std::string> ids;
  const auto run_client = [&](int n) {
    Client client = test::make_client(o);
    for (int i = 0; i < n; ++i) {
      LlmCallRecord r = testing::sample_record();
      ids.insert(r.external_request_id);
      ASSERT_TRUE(client.record(std::move(r)).queued());
    }
    client.shutdown(4s);
    const Stats s = client.stats();
    EXPECT_EQ(s.dropped, 0u);
    EXPECT_EQ(s.recorded + s.unspooled, s.spooled);
  };
  run_client(100);
  for (int start = 0; start < 30; ++start) run_client(1);
  const std::string spool = identity_dir(dir.path(), o.base_url);
  const std::multiset<std::string> on_disk = spooled_ids(spool);
  EXPECT_EQ(on_disk.size(), 130u) << "no copies";
  EXPECT_EQ(std::set<std::string>(on_disk.begin(), on_disk.end()), ids);

  MockIngestOptions same_port;
  same_port.port = port;
  MockIngestServer server(same_port);
  ASSERT_TRUE(server.start()) << server.last_error();
  Client reader = test::make_client(spool_options(server.base_url(), dir.path()));
  ASSERT_TRUE(test::eventually([&] { return reader.stats().delivered >= 130; }, 60s));
  EXPECT_EQ(server.request_count(), 130u) << "each id sent once";
  EXPECT_EQ(stored_ids(server), ids);
}

// Containers: every process is pid 1. A writer that is pid 1 in its pid namespace is killed
// with its spool file open; a reader that is pid 1 in another namespace delivers what it left.
TEST(SpoolDelivery, AFileLeftByPidOneIsDeliveredByPidOneOfAnotherNamespace) {
  if (std::system("unshare --pid --fork true >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "no pid namespaces here (unshare --pid needs CAP_SYS_ADMIN)";
  }
  TempDir dir;
  const int port = testing::unused_loopback_port();
  const std::string url = loopback_url(port);
  const std::string spool = identity_dir(dir.path(), url);
  const std::vector<std::string> unshare = {"unshare", "--pid", "--fork", "--kill-child"};
  const HelperRun run = run_helper_and_kill(dir.path(), url, 90, unshare, "outage", [&](const HelperRun& r) {
    // Killed only once its spooled records are in its (still open) file.
    EXPECT_TRUE(test::eventually([&] { return spooled_ids(spool).size() >= r.spooled; }, 10s));
  });
  EXPECT_EQ(run.pid, 1);
  ASSERT_GE(run.spooled, 20u);
  ASSERT_EQ(spooled_ids(spool).size(), run.spooled);
  bool open_file_left = false;
  for (const auto& e : std::filesystem::directory_iterator(spool)) open_file_left |= e.path().filename().string()[0] == 'w';
  EXPECT_TRUE(open_file_left) << "the writer died with its file open";

  MockIngestOptions same_port;
  same_port.port = port;
  MockIngestServer server(same_port);
  ASSERT_TRUE(server.start()) << server.last_error();
  const auto [reader_pid, delivered] = run_deliverer(dir.path(), url, run.spooled, {"unshare", "--pid", "--fork"});
  EXPECT_EQ(reader_pid, 1);
  EXPECT_EQ(delivered, run.spooled);
  EXPECT_EQ(server.request_count(), run.spooled);
  for (const std::string& id : stored_ids(server)) {
    EXPECT_NE(std::find(run.ids.begin(), run.ids.end(), id), run.ids.end()) << id;
  }
}

// Records never cross API keys or base URLs: a client with another key, or the same server
// under another name, sends none of a directory's records, and says in status() that they are
// there.
TEST(SpoolDelivery, AnotherApiKeyOrBaseUrlSendsNoneAndReportsThem) {
  TempDir dir;
  MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  const std::string spool = identity_dir(dir.path(), server.base_url());
  {
    std::ofstream file(spool + "/r-1-tenant-a.jsonl");
    for (int i = 0; i < 20; ++i) file << detail::spool_line(to_json(testing::sample_record()), now_ms() - 1000);
  }
  const std::string other_name = "http://localhost:" + std::to_string(server.port());
  for (const auto& [key, url] : {std::pair<std::string, std::string>{"another-key", server.base_url()},
                                 std::pair<std::string, std::string>{"test-key", other_name}}) {
    Options o = spool_options(url, dir.path());
    o.api_key = key;
    Client client = test::make_client(o);
    LlmCallRecord own = testing::sample_record();
    const std::string own_id = own.external_request_id;
    const std::size_t before = server.request_count();
    ASSERT_TRUE(client.record(std::move(own)).queued());
    // Its own record answered (stored or refused): its first looks at the spool are behind it.
    ASSERT_TRUE(test::eventually([&] { return client.stats().pending() == 0; }, 30s));
    ASSERT_EQ(client.flush(5s), FlushResult::kFlushed);
    EXPECT_EQ(server.request_count(), before + 1) << key << " " << url;
    EXPECT_EQ(client.stats().unspooled, 0u);
    const ClientStatus st = client.status();
    EXPECT_EQ(st.spool_other_identity_files, 1u);
    EXPECT_GT(st.spool_other_identity_bytes, 0u);
    EXPECT_EQ(st.spool_other_identity_oldest, std::chrono::system_clock::time_point(std::chrono::milliseconds(1)));
    EXPECT_NE(st.spool_path.find(dir.path()), std::string::npos);
  }
  EXPECT_EQ(spooled_ids(spool).size(), 20u) << "left alone";
}

// Files planted in the spool directory: a FIFO (which would block a plain open), a symbolic
// link to /dev/zero, a 3 GB sparse file and (as root) another user's file. The client reads
// none of them, deletes none, keeps its memory, and keeps its shutdown deadline.
TEST(SpoolDelivery, PlantedFilesNeitherHangNorBloatNorVanish) {
  TempDir dir;
  MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  const std::string spool = identity_dir(dir.path(), server.base_url());
  ASSERT_EQ(mkfifo((spool + "/r-1-fifo.jsonl").c_str(), 0600), 0);
  ASSERT_EQ(symlink("/dev/zero", (spool + "/r-2-zero.jsonl").c_str()), 0);
  {
    const int fd = ::open((spool + "/r-3-sparse.jsonl").c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, 3LL << 30), 0);
    ::close(fd);
  }
  std::uint64_t planted = 3;
  if (geteuid() == 0) {
    std::ofstream(spool + "/r-4-other.jsonl") << detail::spool_line(to_json(testing::sample_record()), now_ms());
    ASSERT_EQ(chown((spool + "/r-4-other.jsonl").c_str(), 65534, 65534), 0);
    ++planted;
  }
  std::vector<std::string> planted_names;
  for (const auto& e : std::filesystem::directory_iterator(spool)) planted_names.push_back(e.path().string());
  const long rss_before = rss_kib();
  Client client = test::make_client(spool_options(server.base_url(), dir.path()));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client.record(testing::sample_record()).queued());
  ASSERT_TRUE(test::eventually([&] { return client.status().spool_skipped_files >= planted; }, 10s))
      << client.status().spool_skipped_files;
  ASSERT_TRUE(test::eventually([&] { return client.stats().delivered >= 10; }, 10s));
  const auto start = std::chrono::steady_clock::now();
  client.shutdown(500ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 600ms);
#if !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
  // (A sanitizer's shadow memory and quarantine make RSS meaningless there.)
  EXPECT_LT(rss_kib() - rss_before, 64 * 1024) << "KiB more";
#else
  (void)rss_before;
#endif
  EXPECT_EQ(client.stats().delivered, 10u);
  EXPECT_EQ(client.status().spool_skipped_files, planted);
  for (const std::string& name : planted_names) {
    struct stat st {};
    EXPECT_EQ(lstat(name.c_str(), &st), 0) << name << ": deleted";
  }
}

TEST(SpoolDelivery, ADirectoryOthersCanWriteIsRefusedWithOneLogLine) {
  TempDir dir;
  ASSERT_EQ(chmod(dir.path().c_str(), 0777), 0);
  test::LogCapture logs;
  Options o = spool_options(loopback_url(testing::unused_loopback_port()), dir.path());
  o.on_log = logs.sink();
  o.log_level = LogLevel::kWarn;
  Client client = test::make_client(o);
  EXPECT_EQ(logs.count("spool directory refused"), 1u);
  const ClientStatus st = client.status();
  EXPECT_TRUE(st.spool_path.empty());
  EXPECT_NE(st.spool_refused_reason.find("writable by group or others"), std::string::npos) << st.spool_refused_reason;
  EXPECT_TRUE(dir.files().empty()) << "nothing written there";
}

// Bulk in the directory: 6,000 empty files and 128 MiB of expired lines. The client works
// through them a bounded amount per step: live records are delivered and shutdown(500 ms)
// keeps its deadline.
TEST(SpoolDelivery, ThousandsOfFilesAndExpiredBulkKeepTheShutdownDeadline) {
  TempDir dir;
  MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  const std::string spool = identity_dir(dir.path(), server.base_url());
  for (int i = 0; i < 6000; ++i) std::ofstream(spool + "/r-" + std::to_string(1000 + i) + "-empty.jsonl");
  const std::string line = detail::spool_line(to_json(testing::sample_record()), now_ms() - 3 * 86400000LL);
  std::string mib;
  while (mib.size() + line.size() <= (1u << 20)) mib += line;
  for (int f = 0; f < 128 * (1 << 20) / static_cast<int>(mib.size()); ++f) {
    std::ofstream(spool + "/r-" + std::to_string(500 + f) + "-expired.jsonl") << mib;
  }
  Client client = test::make_client(spool_options(server.base_url(), dir.path()));
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(client.record(testing::sample_record()).queued());
  ASSERT_TRUE(test::eventually([&] { return client.stats().delivered >= 100; }, 30s));
  const auto start = std::chrono::steady_clock::now();
  client.shutdown(500ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 600ms);
  EXPECT_EQ(client.stats().delivered, 100u);
  EXPECT_EQ(client.stats().dropped, 0u);
}

}  // namespace
}  // namespace opsmeter
