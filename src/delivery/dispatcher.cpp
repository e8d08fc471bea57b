// The worker's step: results in, policy applied, sends out.
#include "delivery/dispatcher.hpp"

#include <algorithm>
#include <cstdio>

#include "opsmeter/ids.hpp"
#include "opsmeter/serialize.hpp"
#include "delivery/posture.hpp"

namespace opsmeter::detail {
namespace {

constexpr Millis kHousekeeping{1000};

std::string seconds_text(Millis ms) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", static_cast<double>(ms.count()) / 1000.0);
  return buffer;
}

DropReason reason_for(Action action) noexcept {
  switch (action) {
    case Action::kPause: return DropReason::kPaused;
    case Action::kGiveUp: return DropReason::kRetriesExhausted;
    case Action::kAbandon: return DropReason::kShutdown;
    default: return DropReason::kRejected;
  }
}

}  // namespace

Dispatcher::Dispatcher(const Config& config, SharedState& shared, Transport& transport, Logger& logger,
                       ClockFn clock)
    : config_(config),
      shared_(shared),
      transport_(transport),
      logger_(logger),
      clock_(clock),
      rng_(std::random_device{}()),
      in_flight_(config.options.max_in_flight),
      retry_capacity_(std::max<std::size_t>(16, 4 * config.options.max_in_flight)) {
  retries_.reserve(retry_capacity_ + config.options.max_in_flight);
}

TimePoint Dispatcher::step(TimePoint now, WallClock::time_point wall_now) noexcept {
  try {
    results_.clear();
    transport_.collect(results_);
    if (clock_ && !results_.empty()) now = std::max(now, clock_());
    for (HttpResult& result : results_) handle(result, now, wall_now);
    if (mode_ == Mode::kPaused && now >= paused_until_) mode_ = Mode::kProbing;
    if (mode_ == Mode::kPaused) drop_waiting(DropReason::kPaused);
    dispatch(now);
    log_record_side_drops(now);
  } catch (...) {
    // Only std::bad_alloc can get here; the records involved stay where they were.
    set_last_error("out of memory in worker");
  }
  publish_counts();

  TimePoint next = now + kHousekeeping;
  if (throttled_until_ > now) next = std::min(next, throttled_until_);
  if (mode_ == Mode::kPaused) next = std::min(next, paused_until_);
  // Due retries matter only while a send slot is free; otherwise a finishing transfer wakes us.
  if (in_flight_count_ < send_limit()) {
    for (const Pending& p : retries_) next = std::min(next, std::max(p.not_before, throttled_until_));
  }
  return next;
}

bool Dispatcher::wants_records(TimePoint now) const noexcept {
  return can_send(now) && retries_.size() < retry_capacity_;
}

bool Dispatcher::can_send(TimePoint now) const noexcept {
  return mode_ != Mode::kPaused && now >= throttled_until_ && in_flight_count_ < send_limit();
}

std::size_t Dispatcher::send_limit() const noexcept {
  // After a pause, one probe decides whether the server takes records again.
  return mode_ == Mode::kProbing ? 1 : config_.options.max_in_flight;
}

void Dispatcher::handle(HttpResult& result, TimePoint now, WallClock::time_point wall_now) {
  std::optional<Pending>& slot = in_flight_[result.token];
  if (!slot) return;  // not ours; cannot happen with a correct transport
  Pending pending = std::move(*slot);
  slot.reset();
  --in_flight_count_;
  count_resends(pending, result);

  AttemptOutcome outcome;
  outcome.http_status = result.http_status;
  outcome.error = result.error;
  if (result.http_status == 429 && !result.retry_after.empty()) {
    outcome.retry_after = parse_retry_after(result.retry_after, wall_now);
  }
  pending.last_status = result.http_status;
  const double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  const Decision decision = decide(outcome, pending.attempts, now, config_.policy, jitter);
  std::optional<IngestPosture> posture;
  if (result.http_status != 0 && !result.body.empty()) {
    posture = posture_of(result.body, result.http_status >= 200 && result.http_status <= 299);
  }
  if (result.error != TransportError::kNone) {
    set_last_error(std::string(to_string(result.error)) + ": " + result.error_text);
  } else if (decision.action != Action::kDelivered) {
    set_last_error("http " + std::to_string(result.http_status));
  }
  log_tls_state(result);
  apply(pending, decision, result, posture, now);
}

// libcurl resends a request on its own, once, when a kept-alive connection turns out closed
// before any answer. Those requests reached the wire too, so they count like the first.
void Dispatcher::count_resends(Pending& pending, const HttpResult& result) {
  if (result.requests <= 1) return;
  const auto extra = static_cast<std::uint64_t>(result.requests - 1);
  pending.attempts += result.requests - 1;
  shared_.requests_sent.fetch_add(extra, std::memory_order_relaxed);
  shared_.bytes_sent.fetch_add(extra * pending.body.size(), std::memory_order_relaxed);
}

// A TLS failure repeats for every record until someone fixes the certificate or the trust
// store, so it is logged when it starts or its reason changes, and once when TLS works again.
void Dispatcher::log_tls_state(const HttpResult& result) {
  if (result.error == TransportError::kTls) {
    if (result.error_text == tls_error_logged_) return;
    tls_error_logged_ = result.error_text;
    logger_.log(LogLevel::kError, "TLS connection to the ingest API failed: " + result.error_text +
                                      " (check ca_bundle / OPSMETER_CA_BUNDLE); records are "
                                      "retried and then dropped");
  } else if (result.http_status != 0 && !tls_error_logged_.empty()) {
    tls_error_logged_.clear();
    logger_.log(LogLevel::kInfo, "TLS connection to the ingest API works again");
  }
}

// Responses at high rate mostly repeat the same body; parsing each one again would only
// rewrite the same posture. The per-record callback still gets it every time.
std::optional<IngestPosture> Dispatcher::posture_of(const std::string& body, bool success) {
  // Only 2xx answers are skipped: a 402's or 4xx's reason is needed for its handling.
  if (success && body == last_posture_body_ && !config_.options.on_result) return std::nullopt;
  std::optional<IngestPosture> posture = parse_posture(body);
  last_posture_body_ = body;
  return posture;
}

void Dispatcher::apply(Pending& pending, const Decision& decision, const HttpResult& result,
                       const std::optional<IngestPosture>& posture, TimePoint now) {
  update_posture(posture);
  switch (decision.action) {
    case Action::kDelivered:
      if (mode_ == Mode::kProbing) leave_pause();
      finish(pending, true, DropReason::kInternal, posture);
      return;
    case Action::kRetry:
      shared_.retried.fetch_add(1, std::memory_order_relaxed);
      pending.not_before = decision.not_before;
      retries_.push_back(std::move(pending));
      return;
    case Action::kThrottle: {
      shared_.throttled.fetch_add(1, std::memory_order_relaxed);
      if (decision.not_before > throttled_until_) {
        if (throttled_until_ <= now) {
          logger_.log(LogLevel::kWarn, "Telemetry throttled, retry after " +
                                           seconds_text(std::chrono::duration_cast<Millis>(
                                               decision.not_before - now)) + "s");
        }
        throttled_until_ = decision.not_before;
        std::lock_guard<std::mutex> lock(shared_.mu);
        shared_.throttled_until = throttled_until_;
      }
      pending.not_before = throttled_until_;
      retries_.push_back(std::move(pending));
      return;
    }
    case Action::kPause:
      enter_pause(posture, decision.not_before);
      finish(pending, false, DropReason::kPaused, posture);
      return;
    case Action::kReject: {
      const int status = result.http_status;
      {
        std::lock_guard<std::mutex> lock(shared_.mu);
        ++shared_.rejected_by_status[status];
      }
      if (status >= 300 && status <= 399) {
        if (!redirect_logged_) {
          redirect_logged_ = true;
          logger_.log(LogLevel::kError,
                      "ingest answered HTTP " + std::to_string(status) +
                          " (a redirect); redirects are never followed, records are dropped as "
                          "rejected. Check base_url / OPSMETER_API_BASE_URL.");
        }
      } else if ((status == 401 || status == 403) && !auth_error_logged_) {
        auth_error_logged_ = true;
        logger_.log(LogLevel::kError,
                    "ingest rejected the API key (HTTP " + std::to_string(status) +
                        "); records are being dropped. Check OPSMETER_API_KEY / Options::api_key.");
      } else if (logger_.enabled(LogLevel::kWarn)) {
        logger_.log(LogLevel::kWarn, "ingest rejected record " + pending.record.external_request_id +
                                         " with HTTP " + std::to_string(status) + ": " +
                                         (posture ? posture->reason : std::string()));
      }
      finish(pending, false, DropReason::kRejected, posture);
      return;
    }
    case Action::kGiveUp:
    case Action::kAbandon:
      finish(pending, false, reason_for(decision.action), posture);
      return;
  }
}

void Dispatcher::enter_pause(const std::optional<IngestPosture>& posture, TimePoint until) {
  const bool was_paused = mode_ != Mode::kNormal;
  mode_ = Mode::kPaused;
  paused_until_ = until;
  const std::string reason = posture && !posture->reason.empty() ? posture->reason : "http_402";
  shared_.paused_until_ns.store(to_ns(until), std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(shared_.mu);
    shared_.paused = true;
    shared_.pause_reason = reason;
    shared_.paused_until = until;
  }
  if (was_paused) {
    logger_.log(LogLevel::kInfo, "Telemetry still paused (" + reason + ") after the probe");
    return;
  }
  const Millis window = config_.policy.pause_window;
  logger_.log(LogLevel::kWarn, "Telemetry paused (" + reason + ") for " + seconds_text(window) +
                                   "s; provider calls continue");
  if (config_.options.on_pause) {
    try {
      config_.options.on_pause(PauseEvent{true, reason, window});
    } catch (...) {
      shared_.callback_errors.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void Dispatcher::leave_pause() {
  mode_ = Mode::kNormal;
  std::string reason;
  {
    std::lock_guard<std::mutex> lock(shared_.mu);
    shared_.paused = false;
    reason = std::move(shared_.pause_reason);
    shared_.pause_reason.clear();
  }
  logger_.log(LogLevel::kWarn, "Telemetry resumed");
  if (config_.options.on_pause) {
    try {
      config_.options.on_pause(PauseEvent{false, reason, Millis(0)});
    } catch (...) {
      shared_.callback_errors.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void Dispatcher::update_posture(const std::optional<IngestPosture>& posture) {
  if (!posture) return;
  std::lock_guard<std::mutex> lock(shared_.mu);
  shared_.posture = posture;
}

void Dispatcher::drop_waiting(DropReason reason) {
  Pending pending;
  QueuedRecord queued;
  while (shared_.queue.try_pop(queued)) {
    pending.record = std::move(queued.record);
    finish(pending, false, reason);
  }
  for (Pending& p : retries_) finish(p, false, reason);
  retries_.clear();
}

void Dispatcher::dispatch(TimePoint now) {
  while (can_send(now)) {
    Pending pending;
    if (!next_pending(now, pending)) return;
    if (now - pending.enqueued_at > config_.options.max_record_age) {
      finish(pending, false, DropReason::kTooOld);
      continue;
    }
    if (pending.body.empty()) {
      prepare(pending.record);
      if (!append_json(pending.record,
                       SerializeDefaults{config_.options.data_mode, config_.options.environment},
                       pending.body)) {
        finish(pending, false, DropReason::kInternal);
        continue;
      }
    }
    if (config_.options.dry_run) {
      if (logger_.enabled(LogLevel::kInfo)) {
        logger_.log(LogLevel::kInfo, "dry run, not sent: " + pending.body);
      }
      finish(pending, false, DropReason::kDryRun);
      continue;
    }
    if (!send(std::move(pending), now)) return;
  }
}

// Client-wide defaults and the userId policy, applied once before the first serialization so
// that record() stays cheap.
void Dispatcher::prepare(LlmCallRecord& record) {
  const Options& o = config_.options;
  if (record.endpoint_tag.empty()) record.endpoint_tag = o.endpoint_tag;
  if (record.prompt_version.empty()) record.prompt_version = o.prompt_version;
  if (!record.user_id || o.user_id_policy == UserIdPolicy::kSendAsIs) return;
  if (o.user_id_policy == UserIdPolicy::kHashIfPii && !looks_like_pii(*record.user_id)) return;
  if (o.user_id_policy == UserIdPolicy::kHashIfPii && !pii_warning_logged_) {
    pii_warning_logged_ = true;
    logger_.log(LogLevel::kWarn,
                "a userId looked like an email address or phone number; such userIds are sent "
                "hashed (hash_user_id). Send a stable pseudonymous id instead.");
  }
  record.user_id = hash_user_id(*record.user_id, o.user_id_salt);
}

bool Dispatcher::next_pending(TimePoint now, Pending& out) {
  // Due retries go first: they are older than anything in the queue.
  auto due = retries_.end();
  for (auto it = retries_.begin(); it != retries_.end(); ++it) {
    if (it->not_before <= now && (due == retries_.end() || it->not_before < due->not_before)) due = it;
  }
  if (due != retries_.end()) {
    out = std::move(*due);
    retries_.erase(due);
    return true;
  }
  // Take new records only while the retry list has room, so a dead server backs the queue up
  // (and record() reports queue_full) instead of growing memory here.
  if (retries_.size() >= retry_capacity_) return false;
  QueuedRecord queued;
  if (!shared_.queue.try_pop(queued)) return false;
  out.record = std::move(queued.record);
  out.enqueued_at = queued.enqueued_at;
  return true;
}

bool Dispatcher::send(Pending&& pending, TimePoint now) {
  const auto free_slot = std::find_if(in_flight_.begin(), in_flight_.end(),
                                      [](const std::optional<Pending>& s) { return !s; });
  const auto token = static_cast<std::uint64_t>(free_slot - in_flight_.begin());
  std::optional<Pending>& slot = *free_slot;
  slot.emplace(std::move(pending));
  slot->attempts += 1;
  if (!transport_.start(token, slot->body)) {
    // Could not even start: treat like a network failure so the record is retried or dropped.
    HttpResult failed;
    failed.token = token;
    failed.error = TransportError::kOther;
    failed.error_text = "could not start request";
    ++in_flight_count_;
    handle(failed, now, WallClock::now());
    return false;
  }
  ++in_flight_count_;
  shared_.requests_sent.fetch_add(1, std::memory_order_relaxed);
  shared_.bytes_sent.fetch_add(slot->body.size(), std::memory_order_relaxed);
  return true;
}

void Dispatcher::finish(Pending& pending, bool delivered, DropReason reason,
                        const std::optional<IngestPosture>& posture) {
  if (delivered) {
    shared_.delivered.fetch_add(1, std::memory_order_relaxed);
  } else {
    shared_.count_drop(reason);
  }
  shared_.finished.fetch_add(1, std::memory_order_seq_cst);  // flush() pairs with this
  if (!config_.options.on_result) return;
  DeliveryReport report;
  report.external_request_id = pending.record.external_request_id;
  report.delivered = delivered;
  report.reason = reason;
  report.http_status = pending.last_status;
  report.attempts = pending.attempts;
  report.posture = posture ? &*posture : nullptr;
  try {
    config_.options.on_result(report);
  } catch (...) {
    shared_.callback_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

void Dispatcher::stop() noexcept {
  try {
    results_.clear();
    transport_.abort_all(results_);
    for (HttpResult& result : results_) {
      std::optional<Pending>& slot = in_flight_[result.token];
      if (!slot) continue;
      finish(*slot, false, DropReason::kShutdown);
      slot.reset();
      --in_flight_count_;
    }
    drop_waiting(DropReason::kShutdown);
  } catch (...) {
    set_last_error("out of memory at shutdown");
  }
  publish_counts();
}

void Dispatcher::set_last_error(std::string text) {
  try {
    std::lock_guard<std::mutex> lock(shared_.mu);
    shared_.last_error = std::move(text);
  } catch (...) {
  }
}

void Dispatcher::log_record_side_drops(TimePoint now) {
  // record() must not do I/O, so the worker reports its drops: at most one line a second.
  if (now < next_drop_log_ || !logger_.enabled(LogLevel::kWarn)) return;
  const auto count = [this](DropReason r) {
    return shared_.dropped[static_cast<std::size_t>(r)].load(std::memory_order_relaxed);
  };
  const std::uint64_t full = count(DropReason::kQueueFull);
  const std::uint64_t invalid = count(DropReason::kInvalid);
  const std::uint64_t total = full + invalid;
  if (total == record_side_drops_logged_) return;
  record_side_drops_logged_ = total;
  next_drop_log_ = now + kHousekeeping;
  std::string line = "record() dropped so far: queue_full=" + std::to_string(full) +
                     " invalid=" + std::to_string(invalid);
  if (const char* last = shared_.last_invalid.load(std::memory_order_relaxed)) {
    line += " (last invalid field: ";
    line += last;
    line += ')';
  }
  logger_.log(LogLevel::kWarn, line);
}

void Dispatcher::publish_counts() {
  shared_.in_flight.store(in_flight_count_, std::memory_order_relaxed);
  shared_.retry_waiting.store(retries_.size(), std::memory_order_relaxed);
}

}  // namespace opsmeter::detail
