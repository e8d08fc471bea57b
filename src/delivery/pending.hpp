// A record the worker holds between the queue (or the spool) and its end: its body, built once
// for every path it can take, its attempts, and, for a record read from the spool, the ticket
// that tells its file how it ended.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "base/clock.hpp"
#include "delivery/accounting.hpp"
#include "delivery/preparer.hpp"
#include "delivery/spool.hpp"
#include "opsmeter/client.hpp"

namespace opsmeter::detail {

// A record read from the spool holds one of these. When the record ends (the Pending is
// destroyed, wherever that happens) its file learns that it is gone; give_back() instead leaves
// it in its file (a record still pending at shutdown).
class SpoolTicket {
 public:
  SpoolTicket() = default;
  SpoolTicket(Spool* spool, SpoolMark mark) noexcept : spool_(spool), mark_(mark) {}
  SpoolTicket(SpoolTicket&& other) noexcept : spool_(std::exchange(other.spool_, nullptr)), mark_(other.mark_) {}
  SpoolTicket& operator=(SpoolTicket&& other) noexcept {
    if (this != &other) {
      release();
      spool_ = std::exchange(other.spool_, nullptr);
      mark_ = other.mark_;
    }
    return *this;
  }
  ~SpoolTicket() { release(); }
  bool held() const noexcept { return spool_ != nullptr; }
  void give_back() noexcept {
    if (spool_ != nullptr) spool_->give_back(mark_);
    spool_ = nullptr;
  }

 private:
  void release() noexcept {
    if (spool_ != nullptr) spool_->gone(mark_);
    spool_ = nullptr;
  }
  Spool* spool_ = nullptr;
  SpoolMark mark_;
};

struct Pending {
  LlmCallRecord record;
  TimePoint enqueued_at{};
  TimePoint not_before{};
  TimePoint sent_at{};      // when its latest request started
  int attempts = 0;         // requests sent for it, on the wire
  int throttled_sends = 0;  // of those, answered 429: they do not use up retries
  int held_sends = 0;       // ... and reset or refused in an outage, with no answer: neither
  int last_status = 0;
  std::string body;  // serialized once, resent unchanged (but for a late stamp)
  bool stamped_late = false;  // the body carries metadata.recordedAt
  std::int64_t recorded_unix_ms = 0;  // for a record read from the spool: when record() ran
  SpoolTicket from_spool;             // set for a record read from the spool

  bool unspooled() const noexcept { return from_spool.held(); }
  int counted_attempts() const noexcept { return attempts - throttled_sends - held_sends; }
  // When record() was called, on the wall clock: measured back from `now` on the steady clock.
  WallClock::time_point recorded_at(const Now& now) const noexcept {
    return now.wall - std::chrono::duration_cast<WallClock::duration>(now.steady - enqueued_at);
  }
  RecordEnd end() const noexcept { return RecordEnd{record.external_request_id, attempts, last_status}; }

  // The one way a body is built, for the wire and for the spool: serialized once (what the
  // userId policy did is told to the accounting), and stamped with when record() ran if it
  // leaves `late` (sent after kLateRecord, or spooled). False when it cannot be serialized.
  bool ready_body(const RecordPreparer& preparer, Accounting& accounting, const Now& now, bool late) {
    if (body.empty()) {
      const Prepared prepared = preparer.prepare(record, body);
      if (prepared.user_id_hashed_as_pii) accounting.user_id_hashed_as_pii();
      if (prepared.user_id_dropped) accounting.user_id_dropped_without_salt();
      if (!prepared.ok) return false;
    }
    if (late && !stamped_late && !unspooled()) stamped_late = stamp_recorded_at(body, recorded_at(now));
    return true;
  }
};

}  // namespace opsmeter::detail
