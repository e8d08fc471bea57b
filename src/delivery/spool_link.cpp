// The dispatcher's link to the disk spool (see spool_link.hpp).
#include "delivery/spool_link.hpp"

namespace opsmeter::detail {
namespace {

// How often an idle worker looks for spool files to send (its own, once written, and others').
constexpr Millis kReadEvery{5000};
// How often the other identities' files are counted for status().
constexpr Millis kSurveyEvery{60000};
// Records moved from the queue to the spool per step while the ingest API is unreachable.
constexpr int kBatch = 2000;

}  // namespace

bool SpoolLink::out(Pending& pending, const Now& now) {
  if (pending.unspooled()) {
    pending.from_spool.give_back();
    accounting_.spooled();
    return true;
  }
  // It will be sent late, by a later step or process: it says when record() was called.
  if (!pending.ready_body(preparer_, accounting_, now, /*late=*/true)) {
    accounting_.dropped(pending.end(), DropReason::kInternal);
    return false;
  }
  spool_.append(pending.body, unix_ms(pending.recorded_at(now)));
  accounting_.spooled();
  return true;
}

void SpoolLink::backlog(const Now& now) {
  const RingQueue<QueuedRecord>& queue = shared_.queue;
  for (int n = 0; n < kBatch && (queue.size() > queue.max_items() / 2 ||
                                 queue.queued_bytes() > queue.max_bytes() / 2);
       ++n) {
    if (!out_oldest_queued(now)) break;
  }
}

bool SpoolLink::out_oldest_queued(const Now& now) {
  QueuedRecord queued;
  if (!shared_.queue.try_pop(queued)) return false;
  Pending p;
  p.record = std::move(queued.record);
  p.enqueued_at = queued.enqueued_at;
  out(p, now);
  return true;
}

void SpoolLink::load(const Now& now, std::size_t room, bool answered,
                     std::vector<Pending>& into) {
  if (now.steady < next_read_ || room == 0) return;
  const std::size_t max = answered ? room : 1;
  entries_.clear();
  marks_.clear();
  const bool more = spool_.read(max, entries_, marks_, now.wall);
  // Read to the end (or probing): look again later. Stopped by its bound: go on next step.
  next_read_ = more || entries_.size() == max ? now.steady : now.steady + kReadEvery;
  if (!answered) next_read_ = now.steady + kReadEvery;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    SpoolEntry& entry = entries_[i];
    Pending p;
    p.record.external_request_id = std::move(entry.id);
    p.body = std::move(entry.body);
    p.enqueued_at = now.steady;
    p.not_before = now.steady;
    p.stamped_late = true;  // stamped when it was spooled
    p.recorded_unix_ms = entry.recorded_unix_ms;
    p.from_spool = SpoolTicket(&spool_, marks_[i]);
    into.push_back(std::move(p));
  }
  if (!entries_.empty()) accounting_.unspooled(entries_.size());
}

void SpoolLink::housekeeping(TimePoint now, bool reachable) {
  spool_.flush();
  // Once the ingest API answers, what was spooled becomes readable: by this client too.
  if (reachable) spool_.close_file();
  if (now >= next_survey_) {
    if (next_survey_ != TimePoint{}) spool_.survey();  // the constructor surveyed first
    next_survey_ = now + kSurveyEvery;
  }
  accounting_.spool_dropped(spool_.take_dropped());
}

void SpoolLink::settle_at_stop(Pending& pending, bool time_left, const Now& now) {
  if (pending.unspooled() || time_left) {
    out(pending, now);
  } else {
    accounting_.dropped(pending.end(), DropReason::kShutdown);
  }
}

void SpoolLink::stop(bool time_left, std::uint64_t spooled_before) noexcept {
  spool_.close_file();
  spool_.release_files(time_left);
  spool_.log_shutdown(accounting_.spooled_count() - spooled_before);
  accounting_.spool_dropped(spool_.take_dropped());
}

}  // namespace opsmeter::detail
