// The client through an HTTP proxy named by `http_proxy`: libcurl opens a CONNECT tunnel and
// the records travel through it to the mock ingest server. The proxy here is a minimal
// CONNECT-only relay on loopback that records what it was asked to connect to.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "opsmeter/client.hpp"
#include "opsmeter/testing/mock_ingest_server.hpp"
#include "opsmeter/testing/support.hpp"

namespace opsmeter {
namespace {

using namespace std::chrono_literals;

class ConnectProxy {
 public:
  ConnectProxy() {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener_ < 0 || bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listener_, 16) != 0 ||
        getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~ConnectProxy() {
    stop_ = true;
    if (listener_ >= 0) shutdown(listener_, SHUT_RDWR);
    if (acceptor_.joinable()) acceptor_.join();
    for (std::thread& t : relays_) t.join();
    if (listener_ >= 0) close(listener_);
  }

  int port() const { return port_; }

  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      relays_.emplace_back([this, client] { relay(client); });
    }
  }

  // Reads "CONNECT host:port HTTP/1.1 ... \r\n\r\n", connects to 127.0.0.1:port, answers 200
  // and copies bytes both ways until either side closes.
  void relay(int client) {
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 8192) {
      const ssize_t n = recv(client, buf, sizeof buf, 0);
      if (n <= 0) break;
      head.append(buf, static_cast<std::size_t>(n));
    }
    const std::string line = head.substr(0, head.find("\r\n"));
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(line);
    }
    const std::size_t colon = line.rfind(':');
    const int port = colon == std::string::npos ? 0 : std::atoi(line.c_str() + colon + 1);
    const int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (line.rfind("CONNECT ", 0) != 0 || upstream < 0 ||
        connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      const char refused[] = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
      send(client, refused, sizeof refused - 1, MSG_NOSIGNAL);
    } else {
      const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
      send(client, ok, sizeof ok - 1, MSG_NOSIGNAL);
      pump(client, upstream);
    }
    if (upstream >= 0) close(upstream);
    close(client);
  }

  void pump(int a, int b) {
    char buf[16384];
    while (!stop_) {
      pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (poll(fds, 2, 50) < 0) return;
      for (int i = 0; i < 2; ++i) {
        if (fds[i].revents == 0) continue;
        const ssize_t n = recv(fds[i].fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        if (send(fds[1 - i].fd, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) return;
      }
    }
  }

  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> relays_;  // touched by the acceptor thread, joined after it
  std::mutex mu_;
  std::vector<std::string> requests_;
};

// Sets an environment variable for one test and restores the old value afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_.empty())
      unsetenv(name_);
    else
      setenv(name_, old_.c_str(), 1);
  }

 private:
  const char* name_;
  std::string old_;
};

TEST(ProxyIntegration, RecordsTravelThroughAConnectTunnel) {
  testing::MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  ConnectProxy proxy;
  ASSERT_NE(proxy.port(), 0);
  const std::string proxy_url = "http://127.0.0.1:" + std::to_string(proxy.port());
  ScopedEnv http_proxy("http_proxy", proxy_url.c_str());
  ScopedEnv no_proxy("no_proxy", nullptr);
  ScopedEnv no_proxy_upper("NO_PROXY", nullptr);

  Options o;
  o.api_key = "test-key";
  o.base_url = server.base_url();
  o.timeout = 5s;
  o.allow_any_timeout = true;
  o.max_in_flight = 2;
  o.on_log = [](LogLevel, std::string_view) {};
  {
    Client client(o);
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(client.record(testing::sample_record()).queued());
    ASSERT_EQ(client.flush(10s), FlushResult::kFlushed);
    const Stats s = client.stats();
    EXPECT_EQ(s.delivered, 6u);
    EXPECT_EQ(s.retried, 0u);
  }
  EXPECT_EQ(server.stored_count(), 6u);
  const std::vector<std::string> seen = proxy.requests();
  ASSERT_FALSE(seen.empty());
  EXPECT_LE(seen.size(), 2u);  // one tunnel per connection, kept for later records
  for (const std::string& line : seen) {
    EXPECT_EQ(line, "CONNECT 127.0.0.1:" + std::to_string(server.port()) + " HTTP/1.1");
  }
}

}  // namespace
}  // namespace opsmeter
