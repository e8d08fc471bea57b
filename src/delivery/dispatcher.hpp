// The worker's logic, without the thread: one step() collects finished requests, applies the
// policy, and starts as many sends as the policy allows. The client runs step() in a loop on
// its worker thread; tests run it by hand with a scripted transport and invented times.
#pragma once

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "base/log.hpp"
#include "delivery/options.hpp"
#include "delivery/shared_state.hpp"
#include "transport/transport.hpp"

namespace opsmeter::detail {

class Dispatcher {
 public:
  // `clock`, when given, is read again after collecting answers, so that a Retry-After or
  // backoff window starts no earlier than the answer was read (an answer can arrive while
  // step() runs, after its `now` was taken). Tests pass none and invent every time.
  using ClockFn = TimePoint (*)();
  Dispatcher(const Config& config, SharedState& shared, Transport& transport, Logger& logger,
             ClockFn clock = nullptr);

  // Returns when step() next has something to do if nothing else happens (a retry or throttle
  // or pause window ending); at most `now + 1 s`.
  TimePoint step(TimePoint now, WallClock::time_point wall_now) noexcept;

  // Whether new records could be sent right now (not throttled, paused or at the in-flight
  // limit). The worker only asks to be woken for new records when this holds.
  bool wants_records(TimePoint now) const noexcept;

  // Aborts every transfer and drops everything pending as kShutdown.
  void stop() noexcept;

  std::size_t in_flight() const noexcept { return in_flight_count_; }
  std::size_t retry_waiting() const noexcept { return retries_.size(); }

 private:
  enum class Mode { kNormal, kPaused, kProbing };

  struct Pending {
    LlmCallRecord record;
    TimePoint enqueued_at{};
    TimePoint not_before{};
    int attempts = 0;
    int last_status = 0;
    std::string body;  // serialized once, resent unchanged
  };

  void handle(HttpResult& result, TimePoint now, WallClock::time_point wall_now);
  void count_resends(Pending& pending, const HttpResult& result);
  void log_tls_state(const HttpResult& result);
  std::optional<IngestPosture> posture_of(const std::string& body, bool success);
  void apply(Pending& pending, const Decision& decision, const HttpResult& result,
             const std::optional<IngestPosture>& posture, TimePoint now);
  void enter_pause(const std::optional<IngestPosture>& posture, TimePoint until);
  void leave_pause();
  void update_posture(const std::optional<IngestPosture>& posture);
  void drop_waiting(DropReason reason);
  void dispatch(TimePoint now);
  void prepare(LlmCallRecord& record);
  bool next_pending(TimePoint now, Pending& out);
  bool send(Pending&& pending, TimePoint now);
  void finish(Pending& pending, bool delivered, DropReason reason,
              const std::optional<IngestPosture>& posture = std::nullopt);
  void set_last_error(std::string text);
  void log_record_side_drops(TimePoint now);
  void publish_counts();
  std::size_t send_limit() const noexcept;
  bool can_send(TimePoint now) const noexcept;  // not paused, not throttled, a slot is free

  const Config& config_;
  SharedState& shared_;
  Transport& transport_;
  Logger& logger_;
  ClockFn clock_;
  std::mt19937_64 rng_;

  Mode mode_ = Mode::kNormal;
  TimePoint paused_until_{};
  TimePoint throttled_until_{};
  std::vector<std::optional<Pending>> in_flight_;  // indexed by token; never resized
  std::size_t in_flight_count_ = 0;
  std::vector<Pending> retries_;
  std::size_t retry_capacity_;
  bool auth_error_logged_ = false;
  bool redirect_logged_ = false;
  std::string tls_error_logged_;  // the TLS failure last logged; empty when TLS works
  bool pii_warning_logged_ = false;
  std::vector<HttpResult> results_;  // reused buffer
  std::string last_posture_body_;    // the last response body parsed for the posture
  std::uint64_t record_side_drops_logged_ = 0;
  TimePoint next_drop_log_{};
};

}  // namespace opsmeter::detail
