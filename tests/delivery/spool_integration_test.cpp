// The disk spool through the public API, over loopback: a process killed after its shutdown
// spooled its records, and a new client on the same directory that delivers every one once; a
// spool file with a corrupt and a torn line; two clients started on one directory at once;
// records moved to the spool during an outage so that record() keeps finding room, and sent by
// the same client when the ingest API is back; the byte cap.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
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
  o.spool_dir = dir;
  o.log_level = LogLevel::kError;
  o.timeout = 5s;  // a loaded machine must not turn a slow answer into a resend
  return o;
}

std::set<std::string> stored_ids(const MockIngestServer& server) {
  std::set<std::string> ids;
  for (const auto& r : server.requests()) ids.insert(r.external_request_id);
  return ids;
}

std::int64_t now_ms() { return detail::unix_ms(detail::WallClock::now()); }

// Runs the helper, reads its "spooled N" and ids, then kills it with SIGKILL.
struct HelperRun {
  std::uint64_t spooled = 0;
  std::vector<std::string> ids;
  int signal = 0;
};

HelperRun run_helper_and_kill(const std::string& dir, const std::string& base_url, int count) {
  HelperRun run;
  int out[2];
  if (pipe(out) != 0) return run;
  const std::string n = std::to_string(count);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    execl(OPSMETER_SPOOL_HELPER, OPSMETER_SPOOL_HELPER, dir.c_str(), base_url.c_str(), n.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buffer[65536];
  // Reads until the last id's line arrived (the helper then waits to be killed); a helper that
  // dies early ends the read with EOF.
  const auto lines = [&] { return static_cast<int>(std::count(text.begin(), text.end(), '\n')); };
  while (lines() < count + 1) {
    const ssize_t got = read(out[0], buffer, sizeof buffer);
    if (got <= 0) break;
    text.append(buffer, static_cast<std::size_t>(got));
  }
  close(out[0]);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  run.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    const std::string line = text.substr(start, end - start);
    if (line.rfind("spooled ", 0) == 0) {
      run.spooled = std::stoull(line.substr(8));
    } else {
      run.ids.push_back(line);
    }
  }
  return run;
}

TEST(SpoolDelivery, AProcessKilledAfterItsShutdownSpooledLosesNothing) {
  TempDir dir;
  const HelperRun run = run_helper_and_kill(dir.path(), loopback_url(testing::unused_loopback_port()), 1000);
  EXPECT_EQ(run.signal, SIGKILL);
  ASSERT_EQ(run.spooled, 1000u);
  ASSERT_EQ(run.ids.size(), 1000u);
  EXPECT_GE(dir.files().size(), 1u);

  MockIngestServer server;
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
  EXPECT_TRUE(test::eventually([&] { return dir.files().size() == 0; }, 10s)) << "the spool file is deleted";
}

TEST(SpoolDelivery, CorruptAndTornLinesAreCountedAndTheRestDelivered) {
  TempDir dir;
  std::set<std::string> good;
  std::ofstream file(dir.path() + "/r-1-1-1.jsonl");
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

  MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
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
  std::set<std::string> all;
  for (int f = 0; f < 8; ++f) {
    std::ofstream file(dir.path() + "/r-" + std::to_string(1000 + f) + "-1-" + std::to_string(f) + ".jsonl");
    for (int i = 0; i < 125; ++i) {
      const LlmCallRecord r = testing::sample_record();
      all.insert(r.external_request_id);
      file << detail::spool_line(to_json(r), now_ms());
    }
  }
  MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
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
  o.queue_capacity = 1000;
  o.unreachable_probe_min = 50ms;
  o.unreachable_probe_max = 200ms;
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
  Options o = spool_options(loopback_url(testing::unused_loopback_port()), dir.path());
  o.spool_max_bytes = 64 * 1024;
  o.unreachable_probe_min = 1h;
  o.unreachable_probe_max = 1h;
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
    EXPECT_LE(dir.bytes(), 64u * 1024);
  }
  MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  Client reader = test::make_client(spool_options(server.base_url(), dir.path()));
  ASSERT_TRUE(test::eventually([&] { return dir.files().size() == 0; }, 30s));
  ASSERT_EQ(reader.flush(30s), FlushResult::kFlushed);
  const std::set<std::string> stored = stored_ids(server);
  EXPECT_GT(stored.size(), 50u);
  EXPECT_EQ(stored.count(ids.back()), 1u) << "the newest are kept";
  EXPECT_EQ(stored.count(ids.front()), 0u) << "the oldest were dropped";
}

}  // namespace
}  // namespace opsmeter
