// The seam between the worker and the network. The default implementation is libcurl
// (curl_transport.hpp); tests drive the worker with a scripted fake.
//
// All members except wakeup() are called from the worker thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"

namespace opsmeter::detail {

enum class TransportError : std::uint8_t {
  kNone,     // an HTTP response arrived
  kTimeout,  // no complete response within the timeout
  kConnect,  // could not connect (refused, unreachable, DNS)
  kTls,      // the TLS handshake failed (untrusted certificate, name mismatch, protocol)
  kNetwork,  // the connection failed mid-exchange (reset, closed, malformed response)
  kAborted,  // aborted by shutdown
  kOther,    // the transport could not start the request
};

inline std::string_view to_string(TransportError error) noexcept {
  switch (error) {
    case TransportError::kNone: return "none";
    case TransportError::kTimeout: return "timeout";
    case TransportError::kConnect: return "connect_failed";
    case TransportError::kTls: return "tls_error";
    case TransportError::kNetwork: return "network_error";
    case TransportError::kAborted: return "aborted";
    case TransportError::kOther: return "transport_error";
  }
  return "unknown";
}

struct HttpResult {
  std::uint64_t token = 0;  // as passed to start()
  int http_status = 0;      // 0 when no HTTP response arrived
  TransportError error = TransportError::kNone;
  std::string error_text;   // transport's own description, for logs
  std::string body;         // response body, capped
  std::string retry_after;  // raw Retry-After header value, if any
  // Requests put on the wire for this transfer: 0 when none got that far (no connection), 2
  // when libcurl resent it on a fresh connection after a reused one turned out dead.
  int requests = 1;
  // Aborted while its name lookup was still running: the lookup's thread is left to finish
  // on its own (CURLOPT_QUICK_EXIT) instead of being waited for.
  bool abandoned_lookup = false;
  // The failure is the connection's, not the request's: DNS, refused, unreachable, TLS, or a
  // connect timeout. The whole sender then holds its records and probes (delivery/gate.hpp).
  bool connection_failed = false;
  // Some of a response arrived before the failure (a status line at least).
  bool answered_bytes = false;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Begins POSTing `body`. The string must stay alive and unchanged until the result for
  // `token` has been collected or aborted. False when the request could not be started.
  // `fresh_connection`: on a new connection, never a kept-alive one (a record's last permitted
  // attempt: libcurl resends a request on its own only when a reused connection turns out
  // closed, so a fresh one is sent at most once).
  virtual bool start(std::uint64_t token, const std::string& body, bool fresh_connection) = 0;
  // Advances transfers and appends finished ones to `done`.
  virtual void collect(std::vector<HttpResult>& done) = 0;
  // Sleeps until a transfer needs attention, wakeup() is called, or `max_wait` passes.
  virtual void wait(Millis max_wait) = 0;
  // Cancels every transfer in flight, reporting each as TransportError::kAborted.
  virtual void abort_all(std::vector<HttpResult>& aborted) = 0;
  // How many requests may be in flight now: more once the server is known to multiplex
  // (HTTP/2 streams on one connection) than when each needs a connection of its own.
  virtual std::size_t capacity() const noexcept = 0;
  // Any thread: makes a current or the next wait() return promptly.
  virtual void wakeup() noexcept = 0;
  // In a child after fork(): closes the sockets this transport opened without writing a byte
  // on them (they are shared with the parent, mid-TLS), and touches nothing else. The
  // transport must not be used, or destroyed, afterwards.
  virtual void abandon_after_fork() noexcept {}
};

}  // namespace opsmeter::detail
