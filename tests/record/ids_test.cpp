// Request ids: the deterministic helper's test vectors, and uniqueness of random ids under load.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>
#include <unordered_set>
#include <vector>

#include "opsmeter/ids.hpp"

namespace opsmeter {
namespace {

TEST(DeterministicId, ContractTestVectors) {
  EXPECT_EQ(deterministic_request_id("order:1001"), "ext_e61c8f1c9754b087f4d42809");
  EXPECT_EQ(deterministic_request_id("invoice:42"), "ext_5cd23eb33b1a25492f939a39");
  EXPECT_EQ(deterministic_request_id("support:88"), "ext_b30c1124f6a8c21bd04efc29");
}

TEST(DeterministicId, TrimsAndLowercases) {
  EXPECT_EQ(deterministic_request_id("  ORDER:1001\t\n"), "ext_e61c8f1c9754b087f4d42809");
}

TEST(Sha256, KnownDigest) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(NewRequestId, Format) {
  const std::string id = new_request_id();
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id.substr(0, 4), "ext_");
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef", 4), std::string::npos);
}

TEST(NewRequestId, MillionIdsAcrossEightThreadsAreUnique) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 125000;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ids, t] {
      ids[t].reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) ids[t].push_back(new_request_id());
    });
  }
  for (auto& th : threads) th.join();
  std::unordered_set<std::string> seen;
  seen.reserve(kThreads * kPerThread);
  for (const auto& list : ids) {
    for (const auto& id : list) EXPECT_TRUE(seen.insert(id).second) << "duplicate " << id;
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

TEST(NewRequestId, ForkedChildDoesNotRepeatParentIds) {
  new_request_id();  // seed this thread before fork
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string id = new_request_id();
    const ssize_t written = write(fds[1], id.data(), id.size());
    _exit(written == static_cast<ssize_t>(id.size()) ? 0 : 1);
  }
  const std::string parent_id = new_request_id();
  char buffer[64] = {};
  const ssize_t got = read(fds[0], buffer, sizeof buffer);
  int status = 0;
  waitpid(child, &status, 0);
  close(fds[0]);
  close(fds[1]);
  ASSERT_EQ(got, 36);
  EXPECT_NE(std::string(buffer, 36), parent_id);
}

}  // namespace
}  // namespace opsmeter
