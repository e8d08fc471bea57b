// opsmeter/client.hpp: the telemetry client that delivers records to the Opsmeter ingest API.
//
// How it works: `record()` validates a record on the caller's thread and moves it into a
// bounded lock-free queue; one background worker serializes each record and POSTs it to
// `{base_url}/v1/ingest/llm-request` over libcurl (keep-alive, several requests in flight,
// 300-800 ms timeouts). The worker applies the delivery policy:
//
//   2xx            delivered (the body is parsed best-effort for the budget posture)
//   429            the record waits for Retry-After (seconds or HTTP-date, 1 s if absent, plus
//                  up to 10% drawn at random, capped by `max_retry_after`), then is resent (same
//                  id); the whole sender waits only when most answers are 429s, and sends are
//                  paced at a learned rate (`rate.decrease`, `rate.growth`) once the 429s are
//                  shown to be about the send rate (random 429s are judged noise)
//   402            no retry; telemetry pauses for `pause_window`: new records are dropped at
//                  `record()` as `paused`, queued ones are dropped and counted; after the
//                  window one probe record decides whether to resume. Provider calls continue.
//   408, 5xx,      retried with exponential backoff and full jitter, same id, up to
//   network error  `max_retries` resends, then dropped as `retries_exhausted`
//   no connection  (DNS, refused, TLS, connect timeout; or 6 of the last 8 requests unanswered):
//                  the ingest API is unreachable; records are held, not dropped, and one probe
//                  request at a time (backoff 1 s to 60 s with jitter) tests it; the first
//                  answer resumes sending
//   other 4xx      permanent: dropped as `rejected`, counted by status; 401/403 logged loudly
//
// Every record ends in exactly one bucket of `stats()`: delivered, dropped by reason, or still
// pending (queued, in flight, waiting to retry), so that at any quiet moment
// `recorded == delivered + dropped + pending`.
//
// Guarantees: nothing here throws or aborts. `record()` never blocks, performs no I/O and no
// JSON work, and allocates nothing beyond what the caller's record already owns. `flush()` and
// `shutdown()` return by their deadline (shutdown aborts in-flight transfers at the deadline),
// even against a server that accepts connections and never answers. Callbacks run on the
// worker thread; an exception thrown by a callback is caught and counted.
//
// Thread-safety: every member function may be called concurrently from any thread, except that
// a Client may not be destroyed or moved while another thread is using it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opsmeter/callback.hpp"
#include "opsmeter/export.hpp"
#include "opsmeter/log.hpp"
#include "opsmeter/record.hpp"
#include "opsmeter/validation.hpp"

// Client::start_call returns a CallScope, defined in opsmeter/call_scope.hpp.

namespace opsmeter {

// Why a record was not delivered.
enum class DropReason : std::uint8_t {
  kQueueFull,         // record(): the queue was at capacity (the newest record is dropped)
  kPaused,            // telemetry paused after a 402; dropped at record() or from the queue
  kInvalid,           // record(): validation failed
  kDisabled,          // record(): the client is disabled (bad options, see status())
  kRejected,          // the server answered a permanent 4xx (see Stats::rejected_by_status)
  kRetriesExhausted,  // transient failures outlasted max_retries
  kTooOld,            // older than max_record_age before it could be sent
  kShutdown,          // still pending when shutdown() reached its deadline, or recorded after
  kInternal,          // out of memory while serializing (never expected)
  kDryRun,            // dry run: built, validated, serialized and logged, never sent
};
inline constexpr std::size_t kDropReasonCount = 10;
static_assert(static_cast<std::size_t>(DropReason::kDryRun) + 1 == kDropReasonCount,
              "kDropReasonCount must count every DropReason; kDryRun must stay the last");
OPSMETER_API std::string_view to_string(DropReason reason) noexcept;

// The answer of record().
struct RecordResult {
  enum class Outcome : std::uint8_t { kQueued, kDropped, kInvalid };
  Outcome outcome = Outcome::kQueued;
  DropReason reason = DropReason::kQueueFull;  // meaningful when outcome != kQueued
  ValidationError validation;                  // meaningful when outcome == kInvalid

  bool queued() const noexcept { return outcome == Outcome::kQueued; }
};

// Budget and plan posture from the latest ingest response that carried a JSON body. Every
// field is optional because the server may leave any of them out.
struct IngestPosture {
  std::optional<bool> ok;
  std::string reason;
  std::optional<bool> telemetry_paused;
  std::optional<bool> provider_calls_continue;
  std::optional<bool> is_plan_limit_reached;
  std::optional<bool> budget_warning;   // legacy flag
  std::optional<bool> budget_exceeded;  // legacy flag
  std::string plan_tier;
  std::vector<std::string> warnings;
  std::optional<std::int64_t> plan_limit_requests;
  std::optional<std::int64_t> free_limit_remaining_requests;
};

// Passed to Options::on_result once per record that reaches its end on the worker.
struct DeliveryReport {
  std::string_view external_request_id;
  bool delivered = false;
  DropReason reason = DropReason::kInternal;  // when !delivered
  int http_status = 0;                        // last HTTP status, 0 if none
  int attempts = 0;                           // requests sent for this record
  const IngestPosture* posture = nullptr;     // parsed response body, if any
};

// Passed to Options::on_pause when telemetry pauses (402) and when it resumes.
struct PauseEvent {
  bool paused = false;
  std::string_view reason;              // e.g. "plan_limit_reached"
  std::chrono::milliseconds window{0};  // how long the pause lasts, when paused
};

// What the worker does with a record's userId before it leaves the process.
enum class UserIdPolicy : std::uint8_t {
  kHashIfPii,  // default: a userId that looks like an email address or phone number is
               // replaced by hash_user_id(userId, user_id_salt); a warning is logged once
  kHashAll,    // every userId is hashed
  kSendAsIs,   // userIds are sent unchanged (you guarantee they hold no PII)
};

// Options, grouped by concern. Each group is a member of Options (options.tls.ca_bundle, ...).

// TLS: peer and host name are always verified, TLS 1.2 or newer. These add trusted CAs in place
// of the system store (a private CA, a test CA); empty: libcurl's default store.
struct TlsOptions {
  std::string ca_bundle;  // PEM file
  std::string ca_path;    // directory of hashed CA certificates
};

struct ProxyOptions {
  // Proxy URL, e.g. "http://user:secret@proxy.internal:3128" (credentials are never logged).
  // Empty: taken once, when the client starts, from https_proxy / HTTPS_PROXY (https
  // base_url) or http_proxy (http base_url), then all_proxy / ALL_PROXY. HTTPS goes through a
  // CONNECT tunnel; a plain http target is forwarded by the proxy.
  std::string url;
  // Hosts that bypass the proxy (comma-separated, "*" for all). Empty: no_proxy / NO_PROXY.
  std::string no_proxy;
};

// The queue's two bounds, whichever comes first: records waiting to be sent, and the memory
// they hold (estimated: a 0.5 KiB slot plus each string on the heap). Memory is taken as
// records arrive and handed back as they leave: an idle client holds none of it.
struct QueueOptions {
  std::size_t capacity = 100000;     // records; 1 to 1,000,000
  std::size_t max_bytes = 32u << 20;  // bytes; 64 KiB to 16 GiB
};

struct RetryOptions {
  int max_retries = 2;                               // resends after a transient failure; 0 to 10
  std::chrono::milliseconds base_delay{200};         // backoff = rand(0, base * 2^n)
  std::chrono::milliseconds max_delay{5000};         // backoff cap
  std::chrono::milliseconds max_retry_after{60000};  // cap on a 429's Retry-After
};

struct PauseOptions {
  std::chrono::milliseconds window{600000};  // a 402 pauses telemetry this long (10 minutes)
};

// The disk spool, off while dir is empty (OPSMETER_SPOOL_DIR): records still pending at the
// shutdown deadline, the oldest queued ones while the ingest API is unreachable and the queue
// is more than half full, and records about to expire as too_old are written there by the
// worker; a client on the same directory sends them first. See the README, "The disk spool".
struct SpoolOptions {
  std::string dir;
  std::size_t max_bytes = 64u << 20;            // 64 KiB to 1 TiB; then the oldest go
  std::chrono::milliseconds max_age{86400000};  // older spooled records are dropped
};

// When the ingest API is unreachable (DNS, refused, TLS, connect timeout), records are held
// (not attempts, not dropped) and one probe request at a time tests the connection, after
// min * 2^n (capped at max), half of it drawn at random. The first answer to a probe resumes
// sending.
struct OutageProbeOptions {
  std::chrono::milliseconds min{1000};   // 1 ms to 1 h
  std::chrono::milliseconds max{60000};  // min to 1 h
};

// The send rate after 429s (README, "The send rate after 429s"): once the 429s are shown to be
// about the send rate, the pace is cut to `decrease` times the rate the server accepted over
// the last second, climbs back to that rate in a straight line (the same slope for every
// sender with a small share, so processes sharing a limit converge to equal shares), then
// probes above it along a cubic curve scaled by `growth` (requests/s per s^3); pacing ends
// once sends have not used the whole pace for 30 s.
struct RateOptions {
  double decrease = 0.8;       // 0.1 to 0.95
  double growth = 0.4;         // 0.01 to 100
  double min_send_rate = 1.0;  // requests/s, the lowest pace; 0.01 to 10,000
};

struct Options {
  // Options filled from the OPSMETER_* environment variables (see the README's table), on top
  // of `base`. An invalid value keeps the base's value and is logged as a warning, through
  // base.on_log (stderr if unset) at base.log_level.
  OPSMETER_API static Options from_environment(Options base);
  OPSMETER_API static Options from_environment();
  // Filled by from_environment(): one line per OPSMETER_* variable whose value was invalid and
  // ignored, naming the variable and the value (never the API key's). A client reports them
  // first in status().config_warnings; `opsmeter doctor` fails its config step on them.
  std::vector<std::string> environment_errors;

  std::string api_key;                             // X-API-Key; required
  std::string base_url = "https://api.opsmeter.io";  // trailing slashes are stripped
  // An http:// base_url is refused (a disabled client) unless its host is loopback or this is
  // set: the API key must not cross a network in clear text by accident.
  bool allow_insecure_http = false;

  // TLS: peer and host name are always verified, TLS 1.2 or newer (tls.ca_bundle, tls.ca_path).
  TlsOptions tls;
  // The proxy (proxy.url, proxy.no_proxy); empty: from the environment when the client starts.
  ProxyOptions proxy;
  Environment environment = Environment::kProd;    // for records that leave it unset
  DataMode data_mode = DataMode::kReal;            // for records that leave it unset
  std::string endpoint_tag;    // for records that leave endpointTag empty ("unknown" if empty)
  std::string prompt_version;  // for records that leave promptVersion empty ("unknown" if empty)
  std::string tenant_id;       // metadata.tenantId for records that leave it empty
  std::string feature;         // metadata.feature for records that leave it empty
  bool enabled = true;         // false: a disabled client that drops every record
  bool dry_run = false;        // build, validate, serialize and log records; send nothing
  UserIdPolicy user_id_policy = UserIdPolicy::kHashIfPii;
  std::string user_id_salt;    // salt for hash_user_id()

  // Per-request timeout, clamped to 300-800 ms (the contract's range).
  std::chrono::milliseconds timeout{600};

  QueueOptions queue;  // the queue's two bounds
  std::size_t max_in_flight = 4;       // concurrent requests (HTTP/1.1: connections); 1 to 64
  // Over HTTP/2 (negotiated with the server, checked on every answer) the requests are streams
  // on one connection and this many may be in flight; 1 to 256.
  std::size_t max_streams = 100;
  RetryOptions retry;  // resends after transient failures, and the cap on a 429's Retry-After
  PauseOptions pause;  // a 402's pause
  std::chrono::milliseconds max_record_age{300000};  // older records are dropped, not sent
  std::chrono::milliseconds shutdown_timeout{2000};  // used by the destructor
  SpoolOptions spool;  // the disk spool, off while spool.dir is empty
  OutageProbeOptions outage_probe;  // while the ingest API is unreachable
  RateOptions rate;  // the send rate after 429s

  LogLevel log_level = LogLevel::kWarn;  // messages below this level are not produced
  // Log sink; default: one line on stderr. Never receives the API key.
  Callback<void(LogLevel, std::string_view)> on_log;
  Callback<void(const DeliveryReport&)> on_result;
  Callback<void(const PauseEvent&)> on_pause;
};

// Counters since construction. At a quiet moment (after flush() returned kFlushed, or after
// shutdown()), recorded + unspooled == delivered + dropped + pending() + spooled.
struct Stats {
  std::uint64_t recorded = 0;  // calls to record()
  std::uint64_t delivered = 0;
  std::uint64_t dropped = 0;  // sum of dropped_by_reason
  std::uint64_t dropped_by_reason[kDropReasonCount] = {};  // indexed by DropReason
  std::vector<std::pair<int, std::uint64_t>> rejected_by_status;  // permanent 4xx, by status
                                                                  // (ascending)
  std::uint64_t queued = 0;         // waiting in the queue now
  std::uint64_t in_flight = 0;      // being sent now
  std::uint64_t retry_waiting = 0;  // waiting for a retry or throttle window now
  std::uint64_t retried = 0;        // resends after transient failures
  std::uint64_t throttled = 0;      // 429 answers
  std::uint64_t requests_sent = 0;  // HTTP requests put on the wire (counted when they end)
  std::uint64_t bytes_sent = 0;     // request body bytes
  std::uint64_t callback_errors = 0;  // exceptions caught from user callbacks
  std::uint64_t spooled = 0;          // records written to the disk spool (they left this client)
  std::uint64_t unspooled = 0;        // records read from the spool (then delivered, dropped, ...)
  std::uint64_t spool_dropped = 0;    // spooled records lost: bad or torn lines, older than
                                      // spool_max_age, over spool_max_bytes, or failed writes
  std::string last_error;             // latest failure, e.g. "http 503" or "timeout"
  // The queue's two bounds and what its byte bound counts now (records leave it in batches,
  // so this lags their departure by a few records): an outage meets the byte bound first.
  std::uint64_t queued_bytes = 0;
  std::uint64_t queue_capacity = 0;   // Options::queue_capacity, as the client uses it
  std::uint64_t queue_max_bytes = 0;  // Options::queue_max_bytes, as the client uses it
  // How long ago the oldest record still pending was recorded (0 when nothing is pending;
  // refreshed by the worker at least every 100 ms while records are pending), and the wall
  // time of the last delivery (the epoch when nothing was delivered yet).
  std::chrono::milliseconds oldest_pending_age{0};
  std::chrono::system_clock::time_point last_delivered_at{};

  std::uint64_t pending() const noexcept { return queued + in_flight + retry_waiting; }
  std::uint64_t dropped_for(DropReason reason) const noexcept {
    return dropped_by_reason[static_cast<std::size_t>(reason)];
  }
  std::uint64_t rejected_with(int http_status) const noexcept {
    for (const auto& [status, count] : rejected_by_status) {
      if (status == http_status) return count;
    }
    return 0;
  }
};

struct ClientStatus {
  bool enabled = false;
  std::string disabled_reason;  // why the client is disabled, if it is
  bool shut_down = false;
  bool telemetry_paused = false;
  std::string pause_reason;  // e.g. "plan_limit_reached"
  std::chrono::steady_clock::time_point paused_until{};
  bool throttled = false;
  std::chrono::steady_clock::time_point throttled_until{};
  // The ingest API is unreachable: records are held, and one probe at next_probe_at tests it.
  bool unreachable = false;
  std::string unreachable_reason;  // the connection's last error
  std::chrono::steady_clock::time_point unreachable_since{};
  std::chrono::steady_clock::time_point next_probe_at{};
  // The same four times on the wall clock, for printing (the epoch where the steady time is
  // unset): computed from the steady times when status() is called.
  std::chrono::system_clock::time_point paused_until_wall{};
  std::chrono::system_clock::time_point throttled_until_wall{};
  std::chrono::system_clock::time_point unreachable_since_wall{};
  std::chrono::system_clock::time_point next_probe_at_wall{};
  // Requests per second the sender paces itself to after 429s; 0 when it is not pacing.
  double send_rate_limit = 0;
  std::optional<IngestPosture> posture;  // from the latest response with a JSON body
  // Options the client adjusted (a value out of range and what it used instead); each is also
  // logged once as a warning when the client starts.
  std::vector<std::string> config_warnings;
  // The disk spool (Options::spool_dir): the directory of this client's base URL and API key,
  // empty when the spool is off; why it is off when spool_dir was set (not a directory of this
  // user's, or writable by others); what lies there for other base URLs or API keys (never
  // sent by this client: files, bytes, and the record() time of the oldest); and files it
  // skipped and left in place (not regular files, another user's, too large, unreadable).
  std::string spool_path;
  std::string spool_refused_reason;
  std::uint64_t spool_other_identity_files = 0;
  std::uint64_t spool_other_identity_bytes = 0;
  std::chrono::system_clock::time_point spool_other_identity_oldest{};
  std::uint64_t spool_skipped_files = 0;
};

enum class FlushResult : std::uint8_t { kFlushed, kTimedOut };
OPSMETER_API std::string_view to_string(FlushResult result) noexcept;

class CallScope;
struct CallOptions;
struct CheckResult;
namespace detail {
struct ClientAccess;
struct InternalOptions;
}  // namespace detail

class OPSMETER_API Client {
 public:
  // Never throws. Bad options (missing key, malformed base URL) give a disabled client that
  // drops every record as kDisabled and says why in status() and in one log line.
  explicit Client(Options options) noexcept;
  ~Client();  // shutdown(options.shutdown_timeout)

  Client(Client&& other) noexcept;
  Client& operator=(Client&& other) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Validates the record and moves it into the queue. Never blocks or throws.
  RecordResult record(LlmCallRecord&& record) noexcept;
  // Copies the record first; the copy may allocate.
  RecordResult record(const LlmCallRecord& record) noexcept;

  // Starts measuring one provider call; see opsmeter/call_scope.hpp. Never throws.
  // [[nodiscard]]: a scope discarded at once records a zero-latency call on the spot.
  [[nodiscard]] CallScope start_call(std::string_view provider, std::string_view model) noexcept;
  [[nodiscard]] CallScope start_call(std::string_view provider, std::string_view model,
                       const CallOptions& options) noexcept;

  // Waits until nothing is queued, in flight or waiting to retry, or until `timeout` passes.
  FlushResult flush(std::chrono::milliseconds timeout) noexcept;
  // Flushes until `timeout`, then stops the worker, aborting what is still in flight; records
  // not delivered by then are dropped as kShutdown. Later calls return at once.
  FlushResult shutdown(std::chrono::milliseconds timeout) noexcept;

  Stats stats() const noexcept;
  ClientStatus status() const noexcept;

  // One blocking call to the workspace-status endpoint with this client's key and settings;
  // see opsmeter/check.hpp. For start-up and health checks, never on the record() path.
  CheckResult check(std::chrono::milliseconds timeout) const noexcept;

 private:
  class Impl;
  friend struct detail::ClientAccess;
  OPSMETER_LOCAL Client(Options options, const detail::InternalOptions& internal) noexcept;

  std::shared_ptr<Impl> impl_;  // shared with the worker thread
};

}  // namespace opsmeter
