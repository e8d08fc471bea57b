// The mock ingest server, on cpp-httplib: its lifecycle, faults and counts (the route handlers
// are in mock_handlers.cpp). Faults that HTTP alone cannot express (a TCP reset) reach under the
// library to the connection's socket; see reset_connection().
#include "opsmeter/testing/mock_ingest_server.hpp"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "testing/mock_server_impl.hpp"
#include "testing/sockets.hpp"

namespace opsmeter::testing {
namespace mock {

std::string error_body(const std::string& reason, const std::string& detail) {
  json body = {{"ok", false}, {"reason", reason}};
  if (!detail.empty()) body["error"] = detail;
  return body.dump();
}

// The contract's checks on one ingest body; "" when valid, else what is wrong.
std::string validate_payload(const json& doc) {
  if (!doc.is_object()) return "body is not a JSON object";
  for (const char* key : {"externalRequestId", "provider", "model"}) {
    const auto it = doc.find(key);
    if (it == doc.end() || !it->is_string() || it->get<std::string>().empty()) {
      return std::string(key) + " must be a non-empty string";
    }
  }
  for (const char* key : {"inputTokens", "outputTokens", "totalTokens", "latencyMs"}) {
    const auto it = doc.find(key);
    if (it == doc.end() || !it->is_number_integer() || it->get<std::int64_t>() < 0) {
      return std::string(key) + " must be an integer >= 0";
    }
  }
  const auto in_set = [&](const char* key, std::set<std::string> allowed) {
    const auto it = doc.find(key);
    return it != doc.end() && it->is_string() && allowed.count(it->get<std::string>()) == 1;
  };
  if (!in_set("status", {"success", "error"})) return "status must be success or error";
  if (!in_set("dataMode", {"real", "test", "demo"})) return "dataMode must be real, test or demo";
  if (!in_set("environment", {"prod", "staging", "dev"})) {
    return "environment must be prod, staging or dev";
  }
  for (const char* key : {"errorCode", "userId"}) {
    const auto it = doc.find(key);
    if (it != doc.end() && !it->is_null() && !it->is_string()) {
      return std::string(key) + " must be a string or null";
    }
  }
  const auto metadata = doc.find("metadata");
  if (metadata != doc.end() && !metadata->is_object()) return "metadata must be an object";
  return {};
}

// The server's own sockets: those bound to its port.
template <typename Visit>
void for_each_socket_on_port(int port, Visit visit) {
  detail::for_each_socket_on_port(port, detail::PortOf::kLocal, visit);
}

// Sends a TCP RST on the connection the request came in on. The fd is found by its peer
// port; it is then swapped (dup2) for a fresh unconnected socket, so the library's later
// writes and close act on that one and never on a reused descriptor number.
bool reset_connection(int server_port, int peer_port) {
  bool done = false;
  for_each_socket_on_port(server_port, [&](int fd) {
    sockaddr_in peer{};
    socklen_t peer_len = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0 ||
        ntohs(peer.sin_port) != peer_port) {
      return false;
    }
    linger hard{1, 0};  // close() now sends RST instead of FIN
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    const int spare = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (spare >= 0) {
      done = dup2(spare, fd) >= 0;  // closes the connected socket: RST
      close(spare);
    }
    return true;
  });
  return done;
}

// cpp-httplib 0.11 listens with a backlog of 5 (compiled into Debian's library), so a client
// opening more connections at once has SYNs dropped and its connect times out. Calling
// listen() again on the listening socket raises the backlog (Linux allows it).
void raise_listen_backlog(int server_port) {
  for_each_socket_on_port(server_port, [](int fd) {
    if (!detail::is_listening(fd)) return false;
    listen(fd, SOMAXCONN);
    return true;
  });
}

// Shuts down every accepted connection of the server, as a server or load balancer that drops
// idle keep-alive connections does. Returns how many there were.
std::size_t shut_down_connections(int server_port) {
  std::size_t count = 0;
  for_each_socket_on_port(server_port, [&](int fd) {
    if (!detail::is_listening(fd)) count += shutdown(fd, SHUT_RDWR) == 0;
    return false;
  });
  return count;
}

}  // namespace mock

using namespace mock;

MockIngestServer::MockIngestServer(MockIngestOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
MockIngestServer::~MockIngestServer() = default;
bool MockIngestServer::start() { return impl_->start(); }
void MockIngestServer::stop() { impl_->stop(); }
int MockIngestServer::port() const { return impl_->port(); }
std::string MockIngestServer::base_url() const {
  return (impl_->tls() ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(impl_->port());
}
std::string MockIngestServer::last_error() const { return impl_->last_error(); }
void MockIngestServer::push_fault(const Fault& fault, int count) { impl_->push_fault(fault, count); }
void MockIngestServer::set_fault_fraction(const Fault& fault, double fraction, std::uint64_t seed) {
  impl_->set_fault_fraction(fault, fraction, seed);
}
void MockIngestServer::set_fault_every(const Fault& fault, int nth) { impl_->set_fault_every(fault, nth); }
void MockIngestServer::set_plan_limit(std::int64_t stored_records) { impl_->set_plan_limit(stored_records); }

void MockIngestServer::set_rate_limit(double per_second, double burst) {
  impl_->set_rate_limit(per_second, burst);
}
void MockIngestServer::set_budget_flags(bool warning, bool exceeded) {
  impl_->set_budget_flags(warning, exceeded);
}
void MockIngestServer::clear_faults() { impl_->clear_faults(); }
std::vector<ReceivedRequest> MockIngestServer::requests() const { return impl_->requests(); }
std::vector<std::string> MockIngestServer::stored_bodies() const { return impl_->stored_bodies(); }
std::size_t MockIngestServer::request_count() const { return impl_->request_count(); }
std::size_t MockIngestServer::stored_count() const { return impl_->stored_count(); }
std::size_t MockIngestServer::duplicate_count() const { return impl_->duplicate_count(); }
std::map<int, std::size_t> MockIngestServer::counts_by_status() const { return impl_->counts_by_status(); }
std::string MockIngestServer::stats_json() const { return impl_->stats_json(); }
void MockIngestServer::reset() { impl_->reset(); }
std::size_t MockIngestServer::drop_connections() { return shut_down_connections(port()); }
bool MockIngestServer::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
  return impl_->wait_for(n, false, timeout);
}
bool MockIngestServer::wait_for_stored(std::size_t n, std::chrono::milliseconds timeout) const {
  return impl_->wait_for(n, true, timeout);
}

}  // namespace opsmeter::testing
