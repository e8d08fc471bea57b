// A process may end with a client still live and talking TLS: leaked, on main's stack when
// exit() is called, or static. The worker must never touch the TLS library after that
// library's own exit handlers ran. Each case runs the probe program (tests/support/
// exit_probe.cpp) many times against the HTTPS mock server and requires a clean exit.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include "opsmeter/testing/mock_ingest_server.hpp"
#include "peers.hpp"
#include "tls_mock.hpp"

namespace opsmeter {
namespace {

using namespace std::chrono_literals;

void expect_clean_exits(const char* mode, int runs) {
  const test::TestPki& pki = test::test_pki();
  ASSERT_TRUE(pki.ok);
  testing::MockIngestServer server(test::tls_mock_options());
  ASSERT_TRUE(server.start()) << server.last_error();
  const std::string log = test::scratch_dir() + "/exit_probe.log";
  int clean = 0;
  for (int run = 0; run < runs; ++run) {
    const int status =
        test::run_to_exit({OPSMETER_EXIT_PROBE, server.base_url(), pki.ca, mode}, log, 30s);
    const bool ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    clean += ok ? 1 : 0;
    EXPECT_TRUE(ok) << mode << " run " << run << ": status " << status
                    << (status != -1 && WIFSIGNALED(status) ? " (signal " + std::to_string(WTERMSIG(status)) + ")" : "")
                    << "\n" << test::read_file(log);
  }
  EXPECT_EQ(clean, runs) << mode;
  EXPECT_GT(server.request_count(), 0u);  // the probes were sending when they exited
}

TEST(ExitSafety, LeakedClient) { expect_clean_exits("leak", 50); }
TEST(ExitSafety, ClientOnMainsStackWhenExitIsCalled) { expect_clean_exits("stack", 20); }
TEST(ExitSafety, StaticClient) { expect_clean_exits("static", 20); }

}  // namespace
}  // namespace opsmeter
