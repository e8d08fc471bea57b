// Real peers for the integration tests; see peers.hpp.
#include "peers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "opsmeter/testing/support.hpp"

extern char** environ;

namespace opsmeter::test {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kStartTimeout{10000};

// A program the build found at configure time; fails the test when it was not found.
bool have(const char* path, const char* package) {
  if (path[0] != '\0' && access(path, X_OK) == 0) return true;
  ADD_FAILURE() << "missing program for this test; install the Debian package " << package
                << " (scripts/deps.sh does)";
  return false;
}

// Polls `done` every few milliseconds until it holds or `timeout` passes.
template <typename Done>
bool poll_until(std::chrono::milliseconds timeout, Done done) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace

std::string scratch_dir() {
  static std::vector<std::string>* dirs = [] {
    static std::vector<std::string> list;
    std::atexit([] {
      std::error_code ignored;
      for (const std::string& d : list) std::filesystem::remove_all(d, ignored);
    });
    return &list;
  }();
  std::string pattern = (std::filesystem::temp_directory_path() / "opsmeter-test-XXXXXX").string();
  if (!mkdtemp(pattern.data())) return {};
  dirs->push_back(pattern);
  return pattern;
}

const TestPki& test_pki() {
  static const TestPki pki = [] {
    TestPki p;
    if (!have(OPSMETER_OPENSSL, "openssl")) return p;
    const std::string dir = scratch_dir();
    const std::string command = std::string("bash ") + OPSMETER_TLS_TOOLS_DIR +
                                "/make_test_pki.sh " + dir + " >" + dir + "/pki.log 2>&1";
    if (dir.empty() || std::system(command.c_str()) != 0) {
      ADD_FAILURE() << "make_test_pki.sh failed: " << read_file(dir + "/pki.log");
      return p;
    }
    p.ca = dir + "/ca.pem";
    p.server_cert = dir + "/server.pem";
    p.server_key = dir + "/server.key";
    p.wrong_host_cert = dir + "/wrong-host.pem";
    p.wrong_host_key = dir + "/wrong-host.key";
    p.untrusted_cert = dir + "/untrusted.pem";
    p.untrusted_key = dir + "/untrusted.key";
    p.ok = true;
    return p;
  }();
  return pki;
}

bool ChildProcess::start(const std::vector<std::string>& argv, const std::string& log) {
  stop();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) == 0) pid_ = pid;
  posix_spawn_file_actions_destroy(&actions);
  return pid_ > 0;
}

ChildProcess::~ChildProcess() { stop(); }

int run_to_exit(const std::vector<std::string>& argv, const std::string& log,
                std::chrono::milliseconds timeout) {
  ChildProcess child;
  if (!child.start(argv, log)) return -1;
  int status = 0;
  if (!poll_until(timeout, [&] { return waitpid(child.pid_, &status, WNOHANG) == child.pid_; })) {
    return -1;  // the destructor stops it
  }
  child.pid_ = -1;
  return status;
}

void ChildProcess::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  if (!poll_until(std::chrono::milliseconds(3000),
                  [&] { return waitpid(pid_, &status, WNOHANG) == pid_; })) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool wait_for_listener(int port, std::chrono::milliseconds timeout) {
  return poll_until(timeout, [port] {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool up = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return up;
  });
}

std::string wait_for_file(const std::string& path, std::chrono::milliseconds timeout) {
  std::string text;
  poll_until(timeout, [&] {
    text = read_file(path);
    return !text.empty();
  });
  return text;
}

bool Nghttpd::start() {
  const TestPki& pki = test_pki();
  if (!pki.ok || !have(OPSMETER_NGHTTPD, "nghttp2-server")) return false;
  const std::string dir = scratch_dir();
  port_ = opsmeter::testing::unused_loopback_port();
  const bool spawned = process_.start({OPSMETER_NGHTTPD, "--address=127.0.0.1", "--echo-upload",
                                std::to_string(port_), pki.server_key, pki.server_cert},
                               dir + "/nghttpd.log");
  const bool up = spawned && wait_for_listener(port_, kStartTimeout);
  if (!up) ADD_FAILURE() << "nghttpd did not start: " << read_file(dir + "/nghttpd.log");
  return up;
}

bool ScriptedH2Server::start(const std::string& script, H2Delay delay) {
  const TestPki& pki = test_pki();
  if (!pki.ok || !have(OPSMETER_SYSTEM_PYTHON, "python3-h2")) return false;
  const std::string dir = scratch_dir();
  log_ = dir + "/requests.log";
  stats_ = dir + "/stats";
  const bool spawned = process_.start(
      {OPSMETER_SYSTEM_PYTHON, std::string(OPSMETER_TLS_TOOLS_DIR) + "/h2_server.py", "--cert",
       pki.server_cert, "--key", pki.server_key, "--port-file", dir + "/port", "--log", log_,
       "--script", script, "--delay-ms", std::to_string(delay.ms), "--delay-fraction",
       std::to_string(delay.fraction), "--seed", std::to_string(delay.seed), "--stats-file", stats_},
      dir + "/server.log");
  const std::string port = spawned ? wait_for_file(dir + "/port", kStartTimeout) : "";
  port_ = std::atoi(port.c_str());
  if (port_ <= 0) ADD_FAILURE() << "h2_server.py did not start: " << read_file(dir + "/server.log");
  return port_ > 0;
}

std::vector<std::pair<int, std::string>> ScriptedH2Server::requests() const {
  std::vector<std::pair<int, std::string>> out;
  std::istringstream lines(read_file(log_));
  std::string line;
  while (std::getline(lines, line)) {
    const auto space = line.find(' ');
    if (space == std::string::npos) continue;
    out.emplace_back(std::atoi(line.substr(0, space).c_str()), line.substr(space + 1));
  }
  return out;
}

int ScriptedH2Server::most_open_streams() const { return std::atoi(read_file(stats_).c_str()); }

bool ScriptedH2Server::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
  return poll_until(timeout, [&] { return requests().size() >= n; });
}

bool Tinyproxy::start(const std::string& user, const std::string& password) {
  if (!have(OPSMETER_TINYPROXY, "tinyproxy")) return false;
  const std::string dir = scratch_dir();
  log_ = dir + "/tinyproxy.log";
  port_ = opsmeter::testing::unused_loopback_port();
  {
    std::ofstream conf(dir + "/tinyproxy.conf");
    conf << "Port " << port_ << "\nListen 127.0.0.1\nTimeout 30\nLogFile \"" << log_
         << "\"\nLogLevel Info\nMaxClients 64\nAllow 127.0.0.1\nDisableViaHeader Yes\n";
    if (!user.empty()) conf << "BasicAuth " << user << " " << password << "\n";
  }
  const bool spawned = process_.start({OPSMETER_TINYPROXY, "-d", "-c", dir + "/tinyproxy.conf"},
                               dir + "/stdout.log");
  const bool up = spawned && wait_for_listener(port_, kStartTimeout);
  if (!up) ADD_FAILURE() << "tinyproxy did not start: " << read_file(dir + "/stdout.log");
  return up;
}

}  // namespace opsmeter::test
