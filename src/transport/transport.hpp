// The seam between the worker and the network. The default implementation is libcurl
// (curl_transport.hpp); tests drive the worker with a scripted fake.
//
// All members except wakeup() are called from the worker thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "delivery/policy.hpp"

namespace opsmeter::detail {

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
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Begins POSTing `body`. The string must stay alive and unchanged until the result for
  // `token` has been collected or aborted. False when the request could not be started.
  virtual bool start(std::uint64_t token, const std::string& body) = 0;
  // Advances transfers and appends finished ones to `done`.
  virtual void collect(std::vector<HttpResult>& done) = 0;
  // Sleeps until a transfer needs attention, wakeup() is called, or `max_wait` passes.
  virtual void wait(Millis max_wait) = 0;
  // Cancels every transfer in flight, reporting each as TransportError::kAborted.
  virtual void abort_all(std::vector<HttpResult>& aborted) = 0;
  // Any thread: makes a current or the next wait() return promptly.
  virtual void wakeup() noexcept = 0;
};

}  // namespace opsmeter::detail
