// Accounting: where each record's end is counted and reported to on_result (and pauses to
// on_pause), and where the identity recorded + unspooled == delivered + dropped + pending +
// spooled is kept. It also holds what stats() and status() read besides the counters: the last
// error, rejections by status, the latest posture. What is logged, and when, is the delivery
// log's (delivery_log.hpp); the calls that only log go straight to it. All members except the
// readers are called from the worker thread only.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "delivery/delivery_log.hpp"
#include "delivery/gate.hpp"
#include "delivery/shared_state.hpp"
#include "transport/transport.hpp"

namespace opsmeter::detail {

// One record at its end, as on_result sees it.
struct RecordEnd {
  const std::string& external_request_id;
  int attempts = 0;
  int last_status = 0;
};

class Accounting {
 public:
  Accounting(const Options& options, SharedState& shared, Logger& logger) noexcept
      : options_(options), shared_(shared), logger_(logger), log_(logger, shared) {}

  // The record's end: counted once, then reported to on_result.
  void delivered(const RecordEnd& end, const std::optional<IngestPosture>& posture);
  void dropped(const RecordEnd& end, DropReason reason,
               const std::optional<IngestPosture>& posture = std::nullopt);
  // A permanent rejection: counted by status and logged: a redirect and a refused key once,
  // others once a minute per (status, reason) with the count of lines left out.
  void rejected(const RecordEnd& end, int http_status, const std::optional<IngestPosture>& posture,
                TimePoint now);

  void sent(std::uint64_t requests, std::uint64_t bytes) noexcept;
  void retried() noexcept;
  // A 429 whose record waits until `until`. Throttling is logged as a state: one warning when
  // it starts (with the pace if pacing starts with it), at most one a minute while it lasts
  // (the 429s since the last line), one info line when it ends.
  void throttled(TimePoint now, TimePoint until, const ThrottleEvents& events, double pace);
  void throttling_ended(Millis lasted) { log_.throttling_ended(lasted); }
  void paused(const std::string& reason, Millis window, bool already_paused);
  void resumed(const std::string& reason);
  void user_id_hashed_as_pii() { log_.user_id_hashed_as_pii(); }
  void user_id_dropped_without_salt() { log_.user_id_dropped_without_salt(); }
  void dry_run(const std::string& body) { log_.dry_run(body); }
  void abandoned_lookups(int count) { log_.abandoned_lookups(count); }
  void connection_failed(const HttpResult& result, bool outage_started, const std::string& reason) {
    log_.connection_failed(result, outage_started, reason);
  }
  void reachable_again(Millis down_for, std::size_t held) { log_.reachable_again(down_for, held); }
  void pacing_ended(double limit) { log_.pacing_ended(limit); }
  void probing(Millis down_for) { log_.probing(down_for); }
  // The disk spool: a record written there (it leaves this client, not as a drop), records
  // read back from it (they enter this client's accounting), spooled records it lost.
  void spooled() noexcept;
  void unspooled(std::uint64_t count) noexcept;
  void spool_dropped(std::uint64_t count) noexcept;
  void set_last_error(std::string text) noexcept;
  void set_posture(const std::optional<IngestPosture>& posture);
  void log_record_side_drops(TimePoint now) { log_.log_record_side_drops(now); }
  // The worker's gauges, at the end of each step: what it holds, when the oldest record still
  // pending was recorded (nullopt: it did not look this step), and, when a record was delivered
  // since the last call, the step's wall time as the last delivery's.
  void publish_pending(std::size_t in_flight, std::size_t retry_waiting,
                       std::optional<TimePoint> oldest_pending = std::nullopt,
                       std::optional<WallClock::time_point> now = std::nullopt) noexcept;
  // Records the spool took so far (to count what a shutdown wrote).
  std::uint64_t spooled_count() const noexcept { return shared_.spooled.load(std::memory_order_relaxed); }

  // Any thread.
  // `now`: when stats() was called (for the oldest pending record's age).
  void fill(Stats& stats, TimePoint now) const;
  std::optional<IngestPosture> posture() const;

 private:
  void report(const RecordEnd& end, bool delivered, DropReason reason,
              const std::optional<IngestPosture>& posture);
  template <typename Event>
  void call(const Callback<void(const Event&)>& callback, const Event& event) noexcept;

  const Options& options_;
  SharedState& shared_;
  const Logger& logger_;  // for its count of sink errors
  DeliveryLog log_;

  std::uint64_t delivered_at_publish_ = 0;  // worker only: `delivered` at the last publish_pending()

  mutable std::mutex mu_;  // guards the members below
  std::map<int, std::uint64_t> rejected_by_status_;
  std::string last_error_;
  std::optional<IngestPosture> posture_;
};

}  // namespace opsmeter::detail
