// Counting the ends of records and reporting them to the callbacks (the wording of the log
// lines is in delivery_log.cpp).
#include "delivery/accounting.hpp"

#include <algorithm>

namespace opsmeter::detail {

template <typename Event>
void Accounting::call(const Callback<void(const Event&)>& callback, const Event& event) noexcept {
  if (!callback) return;
  try {
    callback(event);
  } catch (...) {
    shared_.callback_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

void Accounting::delivered(const RecordEnd& end, const std::optional<IngestPosture>& posture) {
  shared_.delivered.fetch_add(1, std::memory_order_relaxed);
  log_.delivered();
  report(end, true, DropReason::kInternal, posture);
}

void Accounting::dropped(const RecordEnd& end, DropReason reason,
                         const std::optional<IngestPosture>& posture) {
  shared_.count_drop(reason);
  report(end, false, reason, posture);
}

void Accounting::report(const RecordEnd& end, bool delivered, DropReason reason,
                        const std::optional<IngestPosture>& posture) {
  shared_.finished.fetch_add(1, std::memory_order_seq_cst);  // flush() pairs with this
  if (!options_.on_result) return;
  DeliveryReport report;
  report.external_request_id = end.external_request_id;
  report.delivered = delivered;
  report.reason = reason;
  report.http_status = end.last_status;
  report.attempts = end.attempts;
  report.posture = posture ? &*posture : nullptr;
  call(options_.on_result, report);
}

void Accounting::rejected(const RecordEnd& end, int status, const std::optional<IngestPosture>& posture,
                          TimePoint now) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++rejected_by_status_[status];
  }
  log_.rejected(end.external_request_id, status, posture ? posture->reason : std::string(), now);
  dropped(end, DropReason::kRejected, posture);
}

void Accounting::sent(std::uint64_t requests, std::uint64_t bytes) noexcept {
  shared_.requests_sent.fetch_add(requests, std::memory_order_relaxed);
  shared_.bytes_sent.fetch_add(bytes, std::memory_order_relaxed);
}

void Accounting::retried() noexcept { shared_.retried.fetch_add(1, std::memory_order_relaxed); }

void Accounting::throttled(TimePoint now, TimePoint until, const ThrottleEvents& events, double pace) {
  shared_.throttled.fetch_add(1, std::memory_order_relaxed);
  log_.throttled(now, until, events, pace);
}


void Accounting::paused(const std::string& reason, Millis window, bool already_paused) {
  log_.paused(reason, window, already_paused);
  if (!already_paused) call(options_.on_pause, PauseEvent{true, reason, window});
}

void Accounting::resumed(const std::string& reason) {
  log_.resumed();
  call(options_.on_pause, PauseEvent{false, reason, Millis(0)});
}









void Accounting::set_last_error(std::string text) noexcept {
  try {
    std::lock_guard<std::mutex> lock(mu_);
    last_error_.swap(text);
  } catch (...) {
  }
}

void Accounting::set_posture(const std::optional<IngestPosture>& posture) {
  if (!posture) return;
  std::lock_guard<std::mutex> lock(mu_);
  posture_ = posture;
}


void Accounting::spooled() noexcept {
  shared_.spooled.fetch_add(1, std::memory_order_relaxed);
  shared_.finished.fetch_add(1, std::memory_order_seq_cst);  // flush() pairs with this
}

void Accounting::unspooled(std::uint64_t count) noexcept {
  shared_.unspooled.fetch_add(count, std::memory_order_seq_cst);
}

void Accounting::spool_dropped(std::uint64_t count) noexcept {
  if (count > 0) shared_.spool_dropped.fetch_add(count, std::memory_order_relaxed);
}

void Accounting::publish_pending(std::size_t in_flight, std::size_t retry_waiting,
                                 std::optional<TimePoint> oldest_pending,
                                 std::optional<WallClock::time_point> now) noexcept {
  shared_.in_flight.store(in_flight, std::memory_order_relaxed);
  shared_.retry_waiting.store(retry_waiting, std::memory_order_relaxed);
  if (oldest_pending) {
    // 0 means nothing is pending; a real time is never 0.
    const std::int64_t ns =
        *oldest_pending == TimePoint::max() ? 0 : std::max<std::int64_t>(1, to_ns(*oldest_pending));
    shared_.oldest_pending_ns.store(ns, std::memory_order_relaxed);
  }
  const std::uint64_t delivered = shared_.delivered.load(std::memory_order_relaxed);
  if (now && delivered != delivered_at_publish_) {
    shared_.last_delivered_wall_ms.store(
        std::chrono::duration_cast<Millis>(now->time_since_epoch()).count(), std::memory_order_relaxed);
  }
  delivered_at_publish_ = delivered;
}

void Accounting::fill(Stats& s, TimePoint now) const {
  for (std::size_t i = 0; i < kDropReasonCount; ++i) {
    s.dropped_by_reason[i] = shared_.dropped[i].load(std::memory_order_relaxed);
    s.dropped += s.dropped_by_reason[i];
  }
  s.delivered = shared_.delivered.load(std::memory_order_relaxed);
  // The worker publishes in_flight and retry_waiting at the end of its step, so in the middle
  // of one (records taken out, not yet published) or just after the last record ends they are
  // stale. What the worker holds is exact from the monotonic counters: every record taken out
  // of the queue or the spool that has not reached an end (finished never exceeds taken, and
  // both only grow). The published figures only split it between in flight and waiting.
  const std::uint64_t finished = shared_.finished.load(std::memory_order_seq_cst);
  const std::uint64_t popped = shared_.queue.popped();
  const std::uint64_t taken = popped + shared_.unspooled.load(std::memory_order_seq_cst);
  const std::uint64_t pushed = shared_.queue.pushed();
  s.queued = pushed > popped ? pushed - popped : 0;
  const std::uint64_t held = taken > finished ? taken - finished : 0;
  s.retry_waiting = std::min<std::uint64_t>(shared_.retry_waiting.load(std::memory_order_relaxed), held);
  s.in_flight = held - s.retry_waiting;
  // Every record() call either claimed a queue slot or was dropped before it.
  s.recorded = pushed + shared_.dropped_at_record.load(std::memory_order_relaxed);
  s.retried = shared_.retried.load(std::memory_order_relaxed);
  s.throttled = shared_.throttled.load(std::memory_order_relaxed);
  s.requests_sent = shared_.requests_sent.load(std::memory_order_relaxed);
  s.bytes_sent = shared_.bytes_sent.load(std::memory_order_relaxed);
  s.callback_errors = shared_.callback_errors.load(std::memory_order_relaxed) + logger_.sink_errors();
  s.spooled = shared_.spooled.load(std::memory_order_relaxed);
  s.unspooled = shared_.unspooled.load(std::memory_order_relaxed);
  s.spool_dropped = shared_.spool_dropped.load(std::memory_order_relaxed);
  s.queued_bytes = shared_.queue.queued_bytes();
  s.queue_capacity = shared_.queue.max_items();
  s.queue_max_bytes = shared_.queue.max_bytes();
  // The worker's figure, unless the counters say nothing is pending any more.
  const std::int64_t oldest_ns = shared_.oldest_pending_ns.load(std::memory_order_relaxed);
  if (oldest_ns != 0 && s.pending() != 0) {
    const TimePoint oldest{std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds(oldest_ns))};
    if (now > oldest) s.oldest_pending_age = std::chrono::duration_cast<Millis>(now - oldest);
  }
  if (const std::int64_t ms = shared_.last_delivered_wall_ms.load(std::memory_order_relaxed); ms != 0) {
    s.last_delivered_at = WallClock::time_point(std::chrono::duration_cast<WallClock::duration>(Millis(ms)));
  }
  std::lock_guard<std::mutex> lock(mu_);
  s.rejected_by_status.assign(rejected_by_status_.begin(), rejected_by_status_.end());
  s.last_error = last_error_;
}

std::optional<IngestPosture> Accounting::posture() const {
  std::lock_guard<std::mutex> lock(mu_);
  return posture_;
}

}  // namespace opsmeter::detail
