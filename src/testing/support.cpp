// Test-support helpers shared by the test suite, the benchmarks and users' own tests.
#include "opsmeter/testing/support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "opsmeter/ids.hpp"
#include "testing/sockets.hpp"

namespace opsmeter::testing {

LlmCallRecord sample_record() { return sample_record(new_request_id()); }

LlmCallRecord sample_record(std::string external_request_id) {
  LlmCallRecord r;
  r.external_request_id = std::move(external_request_id);
  r.provider = "openai";
  r.model = "gpt-4o-mini";
  r.prompt_version = "summary_v3";
  r.endpoint_tag = "checkout.ai_summary";
  r.input_tokens = 120;
  r.output_tokens = 45;
  r.latency_ms = 820;
  return r;
}

int unused_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::size_t connections_to(int port) {
  std::size_t count = 0;
  detail::for_each_socket_on_port(port, detail::PortOf::kPeer, [&count](int) {
    ++count;
    return false;
  });
  return count;
}

}  // namespace opsmeter::testing
