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
#include "transport/transport.hpp"

namespace opsmeter::detail {

class Dispatcher {
 public:
  // `clock`, when given, is read again after collecting answers, so that a Retry-After or
  // backoff window starts no earlier than the answer was read (an answer can arrive while
  // step() runs, after its `now` was taken). Tests pass none and invent every time.
  using ClockFn = TimePoint (*)();
  Dispatcher(const Config& config, SharedState& shared, Transport& transport, DeliveryGate& gate,
             Accounting& accounting, ClockFn clock = nullptr);

  // Returns when step() next has something to do if nothing else happens (a retry or throttle
  // or pause window ending); at most `now + 1 s`.
  TimePoint step(TimePoint now, WallClock::time_point wall_now) noexcept;

  // Whether new records could be sent right now (the gate is open and a slot is free). The
  // worker only asks to be woken for new records when this holds.
  bool wants_records(TimePoint now) const noexcept;

  // Aborts every transfer and drops everything pending as kShutdown.
  void stop() noexcept;

  std::size_t in_flight() const noexcept { return in_flight_count_; }
  std::size_t retry_waiting() const noexcept { return retries_.size(); }

 private:
  struct Pending {
    LlmCallRecord record;
    TimePoint enqueued_at{};
    TimePoint not_before{};
    int attempts = 0;        // requests sent for it, on the wire
    int throttled_sends = 0;  // of those, answered 429: they do not use up retries
    int last_status = 0;
    std::string body;  // serialized once, resent unchanged (but for a late stamp)
    bool stamped_late = false;  // the body carries metadata.recordedAt

    RecordEnd end() const noexcept { return RecordEnd{record.external_request_id, attempts, last_status}; }
  };

  void handle(HttpResult& result, TimePoint now, WallClock::time_point wall_now);
  std::size_t held() const noexcept;  // records waiting: queued, for a retry or in flight
  void count_requests(Pending& pending, const HttpResult& result);
  std::optional<IngestPosture> posture_of(const std::string& body, bool success);
  void apply(Pending& pending, const Decision& decision, int http_status,
             const std::optional<IngestPosture>& posture, TimePoint now);
  void drop_waiting(DropReason reason);
  void dispatch(TimePoint now, WallClock::time_point wall_now);
  bool next_pending(TimePoint now, Pending& out);
  bool send(Pending&& pending, TimePoint now, WallClock::time_point wall_now);

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
};

}  // namespace opsmeter::detail
