// opsmeter/connection_info.hpp: how far a check's connection got (CheckResult::connection).
#pragma once

#include <chrono>
#include <string>

namespace opsmeter {

// How far the check's connection got, step by step. Through a proxy, the name looked up and
// the address connected to are the proxy's.
struct ConnectionInfo {
  bool resolved = false;       // the host name resolved (or was an IP address)
  bool connected = false;      // a TCP connection was made
  bool tls_handshake = false;  // the TLS handshake completed (https only)
  std::string remote_address;  // the IP address connected to
  std::string http_version;    // "HTTP/1.1" or "HTTP/2"; empty without an answer
  // The server's certificate, as libcurl prints it (e.g. "CN = api.opsmeter.io" and
  // "Nov 29 21:00:00 2027 GMT"); empty without a completed handshake.
  std::string tls_subject;
  std::string tls_issuer;
  std::string tls_expires;
  // Times from the start of the request, each step's end.
  std::chrono::microseconds dns_time{0};
  std::chrono::microseconds connect_time{0};
  std::chrono::microseconds tls_time{0};
  std::chrono::microseconds total_time{0};
};

}  // namespace opsmeter
