// Hostile peers for the hardening tests: see hostile.hpp.
#include "hostile.hpp"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <string_view>

namespace opsmeter::test {
namespace {

std::mutex g_lookup_mu;
std::condition_variable g_lookup_cv;
bool g_lookups_released = false;
std::atomic<int> g_lookups_started{0};

bool is_hanging_host(const char* node) {
  if (node == nullptr) return false;
  const std::string_view name(node);
  const std::string_view suffix(kHangingHostSuffix);
  return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
}

}  // namespace

void release_hanging_lookups() {
  {
    std::lock_guard<std::mutex> lock(g_lookup_mu);
    g_lookups_released = true;
  }
  g_lookup_cv.notify_all();
}

int hanging_lookups_started() { return g_lookups_started.load(); }

HostileServer::HostileServer(Mode mode) : mode_(mode) {
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listener_ < 0) return;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener_, 16) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(listener_);
    listener_ = -1;
    return;
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] {
    while (!stop_.load()) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      std::lock_guard<std::mutex> lock(mu_);
      fds_.push_back(fd);
      connections_.emplace_back([this, fd] { serve(fd); });
    }
  });
}

HostileServer::~HostileServer() {
  stop_.store(true);
  if (acceptor_.joinable()) acceptor_.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  for (std::thread& t : connections_) t.join();
  for (int fd : fds_) ::close(fd);
  if (listener_ >= 0) ::close(listener_);
}

void HostileServer::serve(int fd) {
  // Read until the end of the request headers; the body is never read.
  std::string head;
  char buffer[4096];
  while (!stop_.load() && head.find("\r\n\r\n") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return;
    head.append(buffer, static_cast<std::size_t>(n));
  }
  requests_.fetch_add(1);
  const std::string_view interim = "HTTP/1.1 100 Continue\r\n\r\n";
  const std::string_view trickle =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n";
  std::size_t at = 0;
  while (!stop_.load()) {
    ssize_t n = 0;
    if (mode_ == Mode::kEndlessInterim) {
      n = ::send(fd, interim.data(), interim.size(), MSG_NOSIGNAL);
    } else {
      const char byte = at < trickle.size() ? trickle[at] : ' ';
      ++at;
      n = ::send(fd, &byte, 1, MSG_NOSIGNAL);
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, 100);  // one byte every 100 ms: paced by poll, woken early by a close
    }
    if (n <= 0) return;
    bytes_.fetch_add(n);
  }
}

}  // namespace opsmeter::test

// The resolver that never answers: libcurl's resolver thread calls getaddrinfo(), which this
// definition in the test program replaces; every name but the hanging ones goes to the C
// library's own.
extern "C" int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints,
                           struct addrinfo** result) {
  using Real = int (*)(const char*, const char*, const struct addrinfo*, struct addrinfo**);
  static const Real real = reinterpret_cast<Real>(dlsym(RTLD_NEXT, "getaddrinfo"));
  if (opsmeter::test::is_hanging_host(node)) {
    opsmeter::test::g_lookups_started.fetch_add(1);
    std::unique_lock<std::mutex> lock(opsmeter::test::g_lookup_mu);
    opsmeter::test::g_lookup_cv.wait_for(lock, std::chrono::seconds(30),
                                         [] { return opsmeter::test::g_lookups_released; });
    return EAI_NONAME;
  }
  return real(node, service, hints, result);
}
