// Hostile peers for the hardening tests, in-process on loopback.
// - HostileServer: accepts connections, reads a request's headers, then misbehaves as told:
//   endless "HTTP/1.1 100 Continue" interim responses, or a response trickled one byte at a
//   time. It stops (closing every connection) in its destructor.
// - Name lookups of hosts ending in ".hang.invalid" block until release_hanging_lookups() (or
//   30 s): a resolver that never answers. Other names resolve as usual. (hostile.cpp replaces
//   getaddrinfo() for the whole test program and forwards every other name to the C library.)
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace opsmeter::test {

class HostileServer {
 public:
  enum class Mode { kEndlessInterim, kTrickle };
  explicit HostileServer(Mode mode);
  ~HostileServer();
  HostileServer(const HostileServer&) = delete;
  HostileServer& operator=(const HostileServer&) = delete;

  bool ok() const { return listener_ >= 0; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_.load(); }
  // Bytes written to clients so far (grows while the server misbehaves).
  long long bytes_sent() const { return bytes_.load(); }

 private:
  void serve(int fd);

  Mode mode_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::atomic<long long> bytes_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> connections_;
  std::vector<int> fds_;
};

// Hosts ending in this never resolve while lookups are held.
inline constexpr const char* kHangingHostSuffix = ".hang.invalid";
// Lets every held lookup return (as "no such name") and later ones fail at once.
void release_hanging_lookups();
// Lookups of hanging hosts started so far.
int hanging_lookups_started();

}  // namespace opsmeter::test
