// Accounting: where each record's end is counted and reported to on_result, where answers that
// need a person's attention are logged (each kind once, not per record), and where the
// identity recorded + unspooled == delivered + dropped + pending + spooled is kept. It also holds what stats() and
// status() read besides the counters: the last error, rejections by status, the latest posture.
// All members except the readers are called from the worker thread only.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "base/clock.hpp"
#include "base/log.hpp"
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
      : options_(options), shared_(shared), logger_(logger) {}

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
  void throttling_ended(Millis lasted);
  void paused(const std::string& reason, Millis window, bool already_paused);
  void resumed(const std::string& reason);
  void user_id_hashed_as_pii();
  void user_id_dropped_without_salt();
  void dry_run(const std::string& body);
  // Shutdown aborted transfers whose name lookup had not finished.
  void abandoned_lookups(int count);
  // A failed connection (HttpResult::connection_failed: DNS, refused, TLS, ...), or the failure
  // that made most recent requests fail: logged once, when the outage starts (its reason may
  // alternate while it lasts; status() shows the latest).
  // `reason`: the gate's, which says when most requests got no answer.
  void connection_failed(const HttpResult& result, bool outage_started, const std::string& reason);
  // The gate saw the outage end after `down_for`, with `held` records waiting: logged once.
  void reachable_again(Millis down_for, std::size_t held);
  // Pacing after 429s ended (last limit); it starts and moves in throttled(). Logged like
  // throttling: a warning when it starts, at most one line a minute while it moves, info at the end.
  void pacing_ended(double limit);
  // A request sent to test an ingest API unreachable for `down_for` (logged at debug level).
  void probing(Millis down_for);
  // The disk spool: a record written there (it leaves this client, not as a drop), records
  // read back from it (they enter this client's accounting), spooled records it lost.
  void spooled() noexcept;
  void unspooled(std::uint64_t count) noexcept;
  void spool_dropped(std::uint64_t count) noexcept;
  void set_last_error(std::string text) noexcept;
  void set_posture(const std::optional<IngestPosture>& posture);
  // record() does no I/O, so its drops are logged here, at most one line a second, and the
  // first name it cut to its cap, once.
  void log_record_side_drops(TimePoint now);
  void publish_pending(std::size_t in_flight, std::size_t retry_waiting) noexcept;

  // Any thread.
  void fill(Stats& stats) const;
  std::optional<IngestPosture> posture() const;

 private:
  void report(const RecordEnd& end, bool delivered, DropReason reason,
              const std::optional<IngestPosture>& posture);
  template <typename Event>
  void call(const Callback<void(const Event&)>& callback, const Event& event) noexcept;

  const Options& options_;
  SharedState& shared_;
  Logger& logger_;

  // The key is refused (401/403) since the first such answer, logged once; the next delivery
  // logs that it is accepted again, so that a later refusal is logged again.
  bool key_refused_ = false;
  std::uint64_t refused_records_ = 0;
  bool redirect_logged_ = false;
  bool pii_warning_logged_ = false;
  bool names_cut_logged_ = false;
  bool no_salt_logged_ = false;
  bool link_down_tls_ = false;
  // Throttling and pacing as states: 429s and cuts since the last line, and when the next
  // line may be written.
  std::uint64_t throttled_since_line_ = 0;
  std::uint64_t throttled_in_state_ = 0;
  TimePoint next_throttle_line_{};
  std::uint64_t cuts_since_line_ = 0;
  TimePoint next_pacing_line_{};
  std::uint64_t record_side_drops_logged_ = 0;
  TimePoint next_drop_log_{};
  struct Repeats {
    TimePoint quiet_until{};
    std::uint64_t left_out = 0;
  };
  std::map<std::pair<int, std::string>, Repeats> rejection_logs_;  // by (status, reason)

  mutable std::mutex mu_;  // guards the members below
  std::map<int, std::uint64_t> rejected_by_status_;
  std::string last_error_;
  std::optional<IngestPosture> posture_;
};

}  // namespace opsmeter::detail
