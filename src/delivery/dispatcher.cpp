// The worker's step: answers in, policy applied, sends out.
#include "delivery/dispatcher.hpp"

#include <algorithm>

#include "base/random.hpp"
#include "delivery/posture.hpp"

namespace opsmeter::detail {
namespace {

constexpr Millis kHousekeeping{1000};

DropReason reason_for(Action action) noexcept {
  switch (action) {
    case Action::kPause: return DropReason::kPaused;
    case Action::kGiveUp: return DropReason::kRetriesExhausted;
    case Action::kAbandon: return DropReason::kShutdown;
    default: return DropReason::kRejected;
  }
}

}  // namespace

Dispatcher::Dispatcher(const Config& config, SharedState& shared, Transport& transport,
                       DeliveryGate& gate, Accounting& accounting, ClockFn clock, Spool* spool)
    : config_(config),
      shared_(shared),
      transport_(transport),
      gate_(gate),
      accounting_(accounting),
      preparer_(config.options),
      clock_(clock),
      rng_(random_seed()),
      in_flight_(std::max(config.options.max_in_flight, config.options.max_streams)),
      retry_capacity_(std::max<std::size_t>(64, 4 * in_flight_.size())) {
  if (spool != nullptr && spool->enabled()) spool_.emplace(*spool, shared_, accounting_, preparer_);
  retries_.reserve(retry_capacity_ + in_flight_.size());
}

TimePoint Dispatcher::step(Now now) noexcept {
  try {
    results_.clear();
    transport_.collect(results_);
    if (clock_ && !results_.empty()) now.steady = std::max(now.steady, clock_());
    for (HttpResult& result : results_) handle(result, now);
    gate_.set_max_in_flight(std::min(in_flight_.size(), transport_.capacity()));
    gate_.advance(now.steady);
    if (const std::optional<Millis> lasted = gate_.throttling_ended(now.steady)) accounting_.throttling_ended(*lasted);
    if (gate_.paused()) drop_waiting(DropReason::kPaused);
    if (spool_ && !gate_.unreachable() && !gate_.paused() && retries_.size() < retry_capacity_) {
      spool_->load(now, retry_capacity_ - retries_.size(), answered_, retries_);
    }
    dispatch(now);
    if (spool_) {
      if (gate_.unreachable()) spool_->backlog(now);
      spool_->housekeeping(now.steady, !gate_.unreachable());
    }
    accounting_.log_record_side_drops(now.steady);
  } catch (...) {
    // Only std::bad_alloc can get here; the records involved stay where they were.
    accounting_.set_last_error("out of memory in worker");
  }
  accounting_.publish_pending(in_flight_count_, retries_.size(), oldest_pending(now.steady), now.wall);

  TimePoint next = gate_.next_change(now.steady, now.steady + kHousekeeping);
  // Due retries matter only while a send slot is free; otherwise a finishing transfer wakes us.
  if (in_flight_count_ < gate_.send_limit()) {
    const TimePoint opens = gate_.opens_at(now.steady);
    for (const Pending& p : retries_) next = std::min(next, std::max(p.not_before, opens));
  }
  return next;
}

std::optional<TimePoint> Dispatcher::oldest_pending(TimePoint now) noexcept {
  // A gauge, read by stats(): a scan of what the worker holds at most every 100 ms, and at
  // once when nothing is pending any more (TimePoint::max()).
  const QueuedRecord* head = shared_.queue.peek();
  const bool nothing = head == nullptr && in_flight_count_ == 0 && retries_.empty();
  if (!nothing && now < next_oldest_scan_) return std::nullopt;
  next_oldest_scan_ = now + Millis(100);
  TimePoint oldest = TimePoint::max();
  if (head != nullptr) oldest = head->enqueued_at;
  for (const std::optional<Pending>& p : in_flight_) {
    if (p) oldest = std::min(oldest, p->enqueued_at);
  }
  for (const Pending& p : retries_) oldest = std::min(oldest, p.enqueued_at);
  return oldest;
}

bool Dispatcher::wants_records(TimePoint now) const noexcept {
  return gate_.may_send(now, in_flight_count_) && retries_.size() < retry_capacity_;
}

void Dispatcher::handle(HttpResult& result, const Now& now) {
  std::optional<Pending>& slot = in_flight_[result.token];
  if (!slot) return;  // not ours; cannot happen with a correct transport
  Pending pending = std::move(*slot);
  slot.reset();
  --in_flight_count_;
  count_requests(pending, result);

  AttemptOutcome outcome;
  outcome.http_status = result.http_status;
  outcome.error = result.error;
  outcome.connection_failed = result.connection_failed;
  outcome.reached_wire = result.requests > 0;
  if (result.http_status == 429 && !result.retry_after.empty()) {
    outcome.retry_after = parse_retry_after(result.retry_after, now.wall);
  }
  pending.last_status = result.http_status;
  const double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  // The gate first: whether the API is unreachable decides what a request with no answer means.
  std::optional<std::string> outage;  // the reason of an outage this answer starts
  const bool unanswered = result.http_status == 0 && !result.answered_bytes &&
                          (result.error == TransportError::kTimeout || result.error == TransportError::kNetwork);
  if (result.connection_failed || unanswered) {
    const std::string reason = std::string(to_string(result.error)) + ": " + result.error_text;
    outage = result.connection_failed ? gate_.connection_failed(now.steady, pending.sent_at, jitter, reason)
                                      : gate_.request_failed(now.steady, pending.sent_at, jitter, reason);
  }
  outcome.unreachable = gate_.unreachable();
  const Decision decision = decide(outcome, pending.counted_attempts(), now.steady, config_.policy, jitter);
  std::optional<IngestPosture> posture;
  if (result.http_status != 0 && !answered_) {
    answered_ = true;  // the spool may be read in full now
    if (spool_) spool_->look_now();
  }
  if (result.http_status != 0 && !result.body.empty()) {
    posture = posture_of(result.body, result.http_status >= 200 && result.http_status <= 299);
  }
  if (result.error != TransportError::kNone) {
    accounting_.set_last_error(std::string(to_string(result.error)) + ": " + result.error_text);
  } else if (decision.action != Action::kDelivered) {
    accounting_.set_last_error("http " + std::to_string(result.http_status));
  }
  if (outage) accounting_.connection_failed(result, true, *outage);
  if (decision.action == Action::kHold) {
    if (!outcome.reached_wire) {
      pending.attempts -= 1;  // nothing was sent: not an attempt
    } else {
      accounting_.retried();  // it will be sent again
      // Reset or refused before any answer: the requests do not use up retries.
      if (result.error != TransportError::kTimeout) pending.held_sends += result.requests;
    }
  } else if (result.http_status != 0) {
    if (const std::optional<Millis> down_for = gate_.answered(now.steady, pending.sent_at)) {
      accounting_.reachable_again(*down_for, held() + 1);
      if (spool_) spool_->look_now();  // what the outage spooled is sent now
    }
    if (result.http_status != 429) {
      const std::optional<double> ended_at = gate_.rate_answer(now.steady, decision.action == Action::kDelivered);
      if (ended_at) accounting_.pacing_ended(*ended_at);
    }
  }
  accounting_.set_posture(posture);
  apply(pending, decision, result.http_status, posture, now.steady);
}

std::size_t Dispatcher::held() const noexcept {
  return shared_.queue.size() + retries_.size() + in_flight_count_;
}

// Counts the requests the transfer put on the wire: none when it never got a connection, two
// when libcurl resent it on its own (once, when a kept-alive connection turned out closed
// before any answer). A resend counts like the first request.
void Dispatcher::count_requests(Pending& pending, const HttpResult& result) {
  const auto requests = static_cast<std::uint64_t>(std::max(result.requests, 0));
  accounting_.sent(requests, requests * pending.body.size());
  if (result.requests > 1) pending.attempts += result.requests - 1;
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

void Dispatcher::apply(Pending& pending, const Decision& decision, int http_status,
                       const std::optional<IngestPosture>& posture, TimePoint now) {
  switch (decision.action) {
    case Action::kDelivered: {
      if (const std::optional<std::string> ended_pause = gate_.delivered()) accounting_.resumed(*ended_pause);
      accounting_.delivered(pending.end(), posture);
      return;
    }
    case Action::kRetry:
      accounting_.retried();
      pending.not_before = decision.not_before;
      retries_.push_back(std::move(pending));
      return;
    case Action::kHold:
      // Waits for the gate: the probe, or the first send once the ingest API answers again.
      pending.not_before = now;
      retries_.push_back(std::move(pending));
      return;
    case Action::kThrottle: {
      // The record waits for its own Retry-After window; the others only when the send rate
      // judges that most answers are 429s (a hold), and they are paced after a cut.
      const ThrottleEvents events = gate_.throttle(decision.not_before, now, in_flight_count_);
      accounting_.throttled(now, decision.not_before, events, gate_.send_rate_limit());
      pending.throttled_sends += 1;
      pending.not_before = decision.not_before;
      retries_.push_back(std::move(pending));
      return;
    }
    case Action::kPause: {
      const std::string reason = posture && !posture->reason.empty() ? posture->reason : "http_402";
      accounting_.paused(reason, config_.policy.pause_window, gate_.pause(decision.not_before, reason));
      accounting_.dropped(pending.end(), DropReason::kPaused, posture);
      return;
    }
    case Action::kReject:
      accounting_.rejected(pending.end(), http_status, posture, now);
      return;
    case Action::kGiveUp:
    case Action::kAbandon:
      accounting_.dropped(pending.end(), reason_for(decision.action), posture);
      return;
  }
}

void Dispatcher::drop_waiting(DropReason reason) {
  QueuedRecord queued;
  while (shared_.queue.try_pop(queued)) {
    accounting_.dropped(RecordEnd{queued.record.external_request_id}, reason);
  }
  for (Pending& p : retries_) accounting_.dropped(p.end(), reason);
  retries_.clear();
}

void Dispatcher::dispatch(const Now& now) {
  while (gate_.may_send(now.steady, in_flight_count_)) {
    Pending pending;
    if (!next_pending(now.steady, pending)) return;
    if (!pending.unspooled() && now.steady - pending.enqueued_at > config_.options.max_record_age) {
      // With a spool it is kept there, to be sent late (with recordedAt), within spool.max_age.
      if (spool_) {
        spool_->out(pending, now);
      } else {
        accounting_.dropped(pending.end(), DropReason::kTooOld);
      }
      continue;
    }
    if (!pending.ready_body(preparer_, accounting_, now, now.steady - pending.enqueued_at > kLateRecord)) {
      accounting_.dropped(pending.end(), DropReason::kInternal);
      continue;
    }
    if (config_.options.dry_run) {
      accounting_.dry_run(pending.body);
      accounting_.dropped(pending.end(), DropReason::kDryRun);
      continue;
    }
    if (!send(std::move(pending), now)) return;
  }
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

bool Dispatcher::send(Pending&& pending, const Now& now) {
  const auto free_slot = std::find_if(in_flight_.begin(), in_flight_.end(),
                                      [](const std::optional<Pending>& s) { return !s; });
  const auto token = static_cast<std::uint64_t>(free_slot - in_flight_.begin());
  std::optional<Pending>& slot = *free_slot;
  if (gate_.unreachable()) accounting_.probing(std::chrono::duration_cast<Millis>(now.steady - gate_.unreachable_since()));
  gate_.sent(now.steady);
  slot.emplace(std::move(pending));
  slot->attempts += 1;
  slot->sent_at = now.steady;
  ++in_flight_count_;
  // The last permitted attempt of a record already sent goes on a fresh connection, so that
  // libcurl's own resend cannot take it past 1 + retry.max_retries requests. (With retry.max_retries = 0
  // that would be every request; there the bound is 2.)
  const int counted = slot->counted_attempts();
  const bool last_attempt = counted > 1 && counted >= 1 + config_.options.retry.max_retries;
  if (!transport_.start(token, slot->body, last_attempt)) {
    // Could not even start: treat like a network failure so the record is retried or dropped.
    HttpResult failed;
    failed.token = token;
    failed.error = TransportError::kOther;
    failed.error_text = "could not start request";
    failed.requests = 0;
    handle(failed, now);
    return false;
  }
  return true;
}

void Dispatcher::stop(WallClock::time_point wall_now, TimePoint spool_deadline) noexcept {
  try {
    results_.clear();
    transport_.abort_all(results_);
    int abandoned = 0;
    const Now now{clock_ ? clock_() : TimePoint{}, wall_now};
    const auto spool_time_left = [&] { return spool_ && (!clock_ || clock_() < spool_deadline); };
    // With a spool, written there while there is time (one in flight never got its answer: sent
    // again later, and the server keeps one row per id), else dropped; a record read from the
    // spool goes back to its file whatever the time.
    const auto settle = [&](Pending& p) {
      if (spool_) {
        spool_->settle_at_stop(p, spool_time_left(), now);
      } else {
        accounting_.dropped(p.end(), DropReason::kShutdown);
      }
    };
    const std::uint64_t spooled_before = accounting_.spooled_count();
    for (HttpResult& result : results_) {
      abandoned += result.abandoned_lookup ? 1 : 0;
      std::optional<Pending>& slot = in_flight_[result.token];
      if (!slot) continue;
      count_requests(*slot, result);
      settle(*slot);
      slot.reset();
      --in_flight_count_;
    }
    if (spool_) {
      for (Pending& p : retries_) settle(p);
      retries_.clear();
      while (spool_time_left() && spool_->out_oldest_queued(now)) {
      }
      spool_->stop(spool_time_left(), spooled_before);
    }
    drop_waiting(DropReason::kShutdown);
    if (abandoned > 0) accounting_.abandoned_lookups(abandoned);
  } catch (...) {
    accounting_.set_last_error("out of memory at shutdown");
  }
  accounting_.publish_pending(in_flight_count_, retries_.size());
}

}  // namespace opsmeter::detail
