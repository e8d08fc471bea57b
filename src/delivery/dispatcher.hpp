// The worker's logic, without the thread: one step() collects finished requests, decides what
// each answer means (policy.hpp), tells the gate and the accounting, and starts as many sends
// as the gate allows, each record prepared once. The client runs step() in a loop on its
// worker thread; tests run it by hand with a scripted transport and invented times.
#pragma once

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "delivery/accounting.hpp"
#include "delivery/gate.hpp"
#include "delivery/options.hpp"
#include "delivery/preparer.hpp"
#include "delivery/shared_state.hpp"
#include "delivery/pending.hpp"
#include "delivery/spool_link.hpp"
#include "transport/transport.hpp"

namespace opsmeter::detail {

class Dispatcher {
 public:
  // `clock`, when given, is read again after collecting answers, so that a Retry-After or
  // backoff window starts no earlier than the answer was read (an answer can arrive while
  // step() runs, after its `now` was taken). Tests pass none and invent every time.
  using ClockFn = TimePoint (*)();
  // `spool`, when given, takes what would otherwise be lost (see spool.hpp) and is read first.
  Dispatcher(const Config& config, SharedState& shared, Transport& transport, DeliveryGate& gate,
             Accounting& accounting, ClockFn clock = nullptr, Spool* spool = nullptr);

  // Returns when step() next has something to do if nothing else happens (a retry or throttle
  // or pause window ending); at most `now + 1 s`.
  TimePoint step(Now now) noexcept;

  // Whether new records could be sent right now (the gate is open and a slot is free). The
  // worker only asks to be woken for new records when this holds.
  bool wants_records(TimePoint now) const noexcept;

  // Aborts every transfer and drops everything pending as kShutdown; with a spool, writes it
  // there (stamped as of `wall_now`) until `spool_deadline` on the step's clock (no deadline
  // without one) and drops only what is left then.
  void stop(WallClock::time_point wall_now, TimePoint spool_deadline = TimePoint::max()) noexcept;

  std::size_t in_flight() const noexcept { return in_flight_count_; }
  std::size_t retry_waiting() const noexcept { return retries_.size(); }

 private:
  void handle(HttpResult& result, const Now& now);
  std::size_t held() const noexcept;  // records waiting: queued, for a retry or in flight
  std::optional<TimePoint> oldest_pending(TimePoint now) noexcept;
  void count_requests(Pending& pending, const HttpResult& result);
  std::optional<IngestPosture> posture_of(const std::string& body, bool success);
  void apply(Pending& pending, const Decision& decision, int http_status,
             const std::optional<IngestPosture>& posture, TimePoint now);
  void drop_waiting(DropReason reason);
  void dispatch(const Now& now);
  bool next_pending(TimePoint now, Pending& out);
  bool send(Pending&& pending, const Now& now);
  const Config& config_;
  SharedState& shared_;
  Transport& transport_;
  DeliveryGate& gate_;
  Accounting& accounting_;
  const RecordPreparer preparer_;
  ClockFn clock_;
  std::mt19937_64 rng_;

  std::vector<std::optional<Pending>> in_flight_;  // indexed by token; never resized
  std::size_t in_flight_count_ = 0;
  std::vector<Pending> retries_;
  std::size_t retry_capacity_;
  std::vector<HttpResult> results_;  // reused buffer
  std::string last_posture_body_;    // the last response body parsed for the posture
  std::optional<SpoolLink> spool_;  // with a disk spool
  bool answered_ = false;           // the ingest API has answered this client at least once
  TimePoint next_oldest_scan_{};
};

}  // namespace opsmeter::detail
