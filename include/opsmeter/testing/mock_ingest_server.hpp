// opsmeter/testing/mock_ingest_server.hpp: a local Opsmeter ingest server for tests.
//
// MockIngestServer speaks the ingest contract over real HTTP on loopback, so you can test your
// own instrumentation end to end without network access or an Opsmeter account:
//
//   POST /v1/ingest/llm-request        X-API-Key checked (401), payload validated (400 with a
//                                      JSON error), idempotent by externalRequestId (a
//                                      duplicate is answered 200 and counted, not stored
//                                      twice), 200 body {"ok":true,"planTier":...,"warnings":[],
//                                      budget and pause flags}
//   GET  /v1/diagnostics/workspace-status  plan and budget posture
//   POST /v1/chat/completions          a fake OpenAI-compatible provider: a realistic
//                                      completion with `usage`, or an SSE stream with
//                                      `"stream":true` (final usage chunk when
//                                      stream_options.include_usage is set); request headers
//                                      X-Mock-Delay-Ms and X-Mock-Status add a delay or error
//   GET  /__stats                      what the server received, as JSON
//   POST /__reset                      forget everything received, clear faults
//
// Faults are scriptable: a queue of faults for the next N ingest requests (`push_fault`), a
// fault drawn for a fraction of requests (`set_fault_fraction`, seeded, so repeatable), and a
// plan limit that answers 402 once K records are stored. Faults: any HTTP status, 429 with a
// Retry-After value (seconds or HTTP-date), a delay before answering, a TCP reset, accepting
// the request and never answering, a 200 with a non-JSON body, and a redirect.
//
// With `tls_cert_file` and `tls_key_file` set it serves HTTPS (HTTP/1.1 over TLS).
//
// Link `opsmeter::testing`. The same server runs as the `opsmeter-mock-server` executable.
// Thread-safety: every member may be called from any thread while the server runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "opsmeter/export.hpp"

namespace opsmeter::testing {

struct Fault {
  enum class Kind : std::uint8_t { kStatus, kThrottle, kDelay, kReset, kNeverAnswer, kGarbageBody };
  Kind kind = Kind::kStatus;
  int status = 503;                      // kStatus: the status to answer
  std::string retry_after;               // kThrottle: Retry-After value; empty sends none
  std::chrono::milliseconds delay{0};    // kDelay: wait this long, then answer normally
  std::string location;                  // kStatus: a Location header to send, if not empty

  static Fault http_status(int status) { return Fault{Kind::kStatus, status, {}, {}, {}}; }
  // A redirect (301, 302, 307, 308) to `location`.
  static Fault redirect(int status, std::string location) {
    return Fault{Kind::kStatus, status, {}, {}, std::move(location)};
  }
  static Fault throttle(std::string retry_after) {
    return Fault{Kind::kThrottle, 429, std::move(retry_after), {}, {}};
  }
  static Fault delay_for(std::chrono::milliseconds delay) {
    return Fault{Kind::kDelay, 0, {}, delay, {}};
  }
  static Fault reset() { return Fault{Kind::kReset, 0, {}, {}, {}}; }
  static Fault never_answer() { return Fault{Kind::kNeverAnswer, 0, {}, {}, {}}; }
  static Fault garbage_body() { return Fault{Kind::kGarbageBody, 200, {}, {}, {}}; }
};

// One ingest request as the server saw it.
struct ReceivedRequest {
  std::string external_request_id;  // "" when the body had none
  std::string body;
  std::string api_key;
  int remote_port = 0;  // the client's side of the connection it came on
  int status = 0;  // what the server answered; 0 for a reset or a request never answered
  bool duplicate = false;
  std::chrono::steady_clock::time_point arrived_at;
  std::chrono::system_clock::time_point arrived_at_wall;  // for checking HTTP-date Retry-After
};

struct MockIngestOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: an ephemeral port, see port()
  std::string api_key = "test-key";
  std::string plan_tier = "Free";
  int threads = 32;  // concurrent connections served
  // false: answer like a server that leaves Nagle's algorithm on (headers and body go out in
  // two segments, the second after the client's ACK), for measuring clients against one.
  bool tcp_nodelay = true;
  // Both set: serve HTTPS (HTTP/1.1 over TLS) with this PEM certificate chain and key; clients
  // trust it through Options::tls.ca_bundle. Empty: plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
};

class OPSMETER_API MockIngestServer {
 public:
  explicit MockIngestServer(MockIngestOptions options = {});
  ~MockIngestServer();  // stops the server
  MockIngestServer(const MockIngestServer&) = delete;
  MockIngestServer& operator=(const MockIngestServer&) = delete;

  // Binds and starts serving on a background thread. False (see last_error()) if it cannot.
  bool start();
  // Stops serving: held (never-answered or delayed) requests are released first, the listening
  // socket is closed and open connections are dropped.
  void stop();

  int port() const;
  std::string base_url() const;  // "http://127.0.0.1:<port>" ("https://..." with TLS)
  std::string last_error() const;

  void push_fault(const Fault& fault, int count = 1);
  void set_fault_fraction(const Fault& fault, double fraction, std::uint64_t seed = 1);
  void set_fault_every(const Fault& fault, int nth);  // every nth ingest request; 0 turns it off
  void set_plan_limit(std::int64_t stored_records);  // < 0: no limit (the default)
  // A per-key rate limit: a token bucket `burst` deep refilled at `per_second`; a request that
  // finds it empty is answered 429 with Retry-After: 1. per_second <= 0 turns it off.
  void set_rate_limit(double per_second, double burst);
  void set_budget_flags(bool warning, bool exceeded);
  void clear_faults();  // also releases requests held by never-answer

  std::vector<ReceivedRequest> requests() const;  // every ingest request, in arrival order
  std::vector<std::string> stored_bodies() const;  // one body per stored externalRequestId
  std::size_t request_count() const;
  std::size_t stored_count() const;
  std::size_t duplicate_count() const;
  std::map<int, std::size_t> counts_by_status() const;
  std::string stats_json() const;  // the body of GET /__stats
  void reset();                    // forget received requests and clear faults
  // Closes every client connection the server holds, as a server or load balancer that drops
  // idle keep-alive connections does. Returns how many were closed.
  std::size_t drop_connections();

  // Wait (on a condition, not a sleep) until at least `n` requests arrived / records were
  // stored, or the timeout passes. True when the count was reached.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;
  bool wait_for_stored(std::size_t n, std::chrono::milliseconds timeout) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opsmeter::testing
