// The delivery's log lines: their wording, and when each is written. Answers that need a
// person's attention are logged once per kind (not per record); states (throttling, pacing,
// an outage, a pause) once when they start, at most once a minute while they last, and once
// when they end. Worker thread only; the counting is the accounting's (accounting.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "delivery/gate.hpp"
#include "delivery/shared_state.hpp"
#include "transport/transport.hpp"

namespace opsmeter::detail {

class DeliveryLog {
 public:
  DeliveryLog(Logger& logger, const SharedState& shared) noexcept : logger_(logger), shared_(shared) {}

  // A delivery: after a refused key, says once that it is accepted again.
  void delivered();
  // A permanent rejection: a redirect and a refused key once; others once a minute per
  // (status, reason), with the count of lines left out.
  void rejected(const std::string& id, int status, const std::string& posture_reason, TimePoint now);
  // A 429 whose record waits until `until`: a warning when throttling starts (with the pace if
  // pacing starts with it), at most one line a minute while it lasts (the 429s since the last
  // line) and while the pace moves.
  void throttled(TimePoint now, TimePoint until, const ThrottleEvents& events, double pace);
  void throttling_ended(Millis lasted);
  void paused(const std::string& reason, Millis window, bool already_paused);
  void resumed();
  void user_id_hashed_as_pii();
  void user_id_dropped_without_salt();
  void dry_run(const std::string& body);
  // Shutdown aborted transfers whose name lookup had not finished.
  void abandoned_lookups(int count);
  // A failed connection, logged once, when the outage starts (its reason may alternate while
  // it lasts; status() shows the latest). `why`: the gate's reason.
  void connection_failed(const HttpResult& result, bool outage_started, const std::string& why);
  // The outage ended after `down_for`, with `held` records waiting.
  void reachable_again(Millis down_for, std::size_t held);
  void pacing_ended(double limit);
  // A request sent to test an ingest API unreachable for `down_for` (debug level).
  void probing(Millis down_for);
  // record() does no I/O, so its drops are logged here, at most one line a second, and the
  // first name it cut to its cap, once.
  void log_record_side_drops(TimePoint now);

 private:
  Logger& logger_;
  const SharedState& shared_;

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
};

}  // namespace opsmeter::detail
