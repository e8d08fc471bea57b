// Real peers for the integration tests, started by the tests themselves on loopback: a test PKI
// made with the openssl CLI, nghttpd (an HTTP/2-only TLS server), a scriptable HTTP/2 ingest
// server (tests/tls/h2_server.py on Debian's python3-h2) and tinyproxy (a real HTTP proxy).
// Each helper fails the calling test with a clear message when its program is missing.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace opsmeter::test {

// Certificates made once per test process in a scratch folder (tests/tls/make_test_pki.sh).
struct TestPki {
  std::string ca;  // the CA to trust (Options::tls.ca_bundle)
  std::string server_cert, server_key;          // localhost, 127.0.0.1, ::1
  std::string wrong_host_cert, wrong_host_key;  // wrong.example only
  std::string untrusted_cert, untrusted_key;    // signed by a CA nobody trusts
  bool ok = false;
};
const TestPki& test_pki();

// A child process; stopped (SIGTERM, then SIGKILL) by the destructor. Its output goes to `log`.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Stops a running one first. False when it could not be started.
  bool start(const std::vector<std::string>& argv, const std::string& log);
  void stop();

 private:
  friend int run_to_exit(const std::vector<std::string>&, const std::string&, std::chrono::milliseconds);
  pid_t pid_ = -1;
};

// Runs a program to its end; returns its wait status, or -1 if it did not end within
// `timeout` (it is then killed). Its output goes to `log`.
int run_to_exit(const std::vector<std::string>& argv, const std::string& log,
                std::chrono::milliseconds timeout);

std::string read_file(const std::string& path);
// Polls (with a deadline) until a TCP connect to 127.0.0.1:port succeeds.
bool wait_for_listener(int port, std::chrono::milliseconds timeout);
// Polls (with a deadline) until `path` exists and is not empty; returns its contents or "".
std::string wait_for_file(const std::string& path, std::chrono::milliseconds timeout);
std::string scratch_dir();  // a fresh folder under /tmp, removed at process exit

// nghttpd --echo-upload on 127.0.0.1 with the test PKI's server certificate: every POST is
// answered 200 with its own body, over HTTP/2 only.
class Nghttpd {
 public:
  bool start();
  std::string base_url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

 private:
  int port_ = 0;
  ChildProcess process_;
};

// tests/tls/h2_server.py: answers the ingest POSTs with the scripted statuses ("429:1,200,402"),
// over HTTP/2 only, and logs what it received.
// A slow tail for ScriptedH2Server: `fraction` of the requests (drawn with `seed`) answered
// `ms` after they arrived, each stream on its own; 0 ms: every answer at once.
struct H2Delay {
  int ms = 0;
  double fraction = 1.0;
  int seed = 1;
};

class ScriptedH2Server {
 public:
  bool start(const std::string& script, H2Delay delay = H2Delay{});
  // The most requests the server held open at once (received, not yet answered).
  int most_open_streams() const;
  std::string base_url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  // (status answered, externalRequestId) per request, in order.
  std::vector<std::pair<int, std::string>> requests() const;
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;

 private:
  int port_ = 0;
  std::string log_;
  std::string stats_;
  ChildProcess process_;
};

// tinyproxy on 127.0.0.1 (forward proxying and CONNECT to any port), optionally requiring
// basic auth. log() is its log file, with one "Request" line per proxied request.
class Tinyproxy {
 public:
  bool start(const std::string& user = {}, const std::string& password = {});
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return read_file(log_); }

 private:
  int port_ = 0;
  std::string log_;
  ChildProcess process_;
};

}  // namespace opsmeter::test
