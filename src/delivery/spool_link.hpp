// The dispatcher's link to the disk spool: records out (at shutdown, when too old to send, and
// the oldest queued ones while the ingest API is unreachable and the queue fills), spooled
// records in (while the ingest API answers), and the spool's housekeeping. Worker thread only.
#pragma once

#include <cstdint>
#include <vector>

#include "base/clock.hpp"
#include "delivery/accounting.hpp"
#include "delivery/pending.hpp"
#include "delivery/preparer.hpp"
#include "delivery/shared_state.hpp"
#include "delivery/spool.hpp"

namespace opsmeter::detail {

class SpoolLink {
 public:
  SpoolLink(Spool& spool, SharedState& shared, Accounting& accounting, const RecordPreparer& preparer) noexcept
      : spool_(spool), shared_(shared), accounting_(accounting), preparer_(preparer) {}

  // One record out (false when it could not be serialized: dropped as kInternal). A record
  // read from the spool is not written again: it stays in its file.
  bool out(Pending& pending, const Now& now);
  // While the ingest API is unreachable: the oldest queued records out, while the queue is more
  // than half full (of records or bytes), a bounded batch per step.
  void backlog(const Now& now);
  bool out_oldest_queued(const Now& now);  // false: queue empty

  // Spooled records in, appended to `into` (at most `room`). Before the ingest API has
  // answered this client at all (`answered` false), at most one: a probe, so that a client
  // started during an outage takes nothing else from the spool.
  void load(const Now& now, std::size_t room, bool answered,
            std::vector<Pending>& into);
  // The next load() reads at once (the ingest API has just answered for the first time).
  void look_now() noexcept { next_read_ = TimePoint{}; }

  // Each step: the open file's buffer to disk; once the ingest API answers, the open file is
  // closed so that it can be read (by this client too); the other identities surveyed now and
  // then; lost lines counted.
  void housekeeping(TimePoint now, bool reachable);

  // At shutdown, for each record still pending: a record read from the spool is given back to
  // its file; any other is written out while `time_left`, else dropped as kShutdown.
  void settle_at_stop(Pending& pending, bool time_left, const Now& now);
  // At shutdown, after settle_at_stop(): files closed and released, what was written logged.
  void stop(bool time_left, std::uint64_t spooled_before) noexcept;

 private:
  Spool& spool_;
  SharedState& shared_;
  Accounting& accounting_;
  const RecordPreparer& preparer_;
  TimePoint next_read_{};    // when to look at the spool directory again
  TimePoint next_survey_{};  // when to survey the other identities again
  std::vector<SpoolEntry> entries_;  // reused buffers
  std::vector<SpoolMark> marks_;
};

}  // namespace opsmeter::detail
