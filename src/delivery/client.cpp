// opsmeter::Client: the caller-facing hand-off, the worker thread, flush and shutdown.
#include "opsmeter/client.hpp"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <thread>

#include "base/log.hpp"
#include "base/text.hpp"
#include "delivery/accounting.hpp"
#include "delivery/client_access.hpp"
#include "delivery/dispatcher.hpp"
#include "delivery/gate.hpp"
#include "delivery/options.hpp"
#include "delivery/shared_state.hpp"
#include "delivery/workspace.hpp"
#include "instrument/call_scope_access.hpp"
#include "instrument/record_sink.hpp"
#include "opsmeter/call_scope.hpp"
#include "transport/curl_transport.hpp"

namespace opsmeter {

using detail::Clock;
using detail::Millis;
using detail::TimePoint;

std::string_view to_string(DropReason reason) noexcept {
  switch (reason) {
    case DropReason::kQueueFull: return "queue_full";
    case DropReason::kPaused: return "paused";
    case DropReason::kInvalid: return "invalid";
    case DropReason::kDisabled: return "disabled";
    case DropReason::kRejected: return "rejected";
    case DropReason::kRetriesExhausted: return "retries_exhausted";
    case DropReason::kTooOld: return "too_old";
    case DropReason::kShutdown: return "shutdown";
    case DropReason::kInternal: return "internal";
    case DropReason::kDryRun: return "dry_run";
  }
  return "unknown";
}

std::string_view to_string(FlushResult result) noexcept {
  return result == FlushResult::kFlushed ? "flushed" : "timed_out";
}

namespace {

// Bumped in a child process by fork(): a client made before it sees a new value and starts
// afresh there (Client::Impl::successor).
std::atomic<std::uint64_t> g_fork_generation{0};

void on_fork_child() { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }

std::uint64_t fork_generation() noexcept {
  static const bool installed = pthread_atfork(nullptr, nullptr, &on_fork_child) == 0;
  (void)installed;
  return g_fork_generation.load(std::memory_order_relaxed);
}

// A client with a worker, as the exit hook below sees it.
class LiveWorker {
 public:
  // Stops the worker and waits (until `deadline`) for it to leave libcurl and OpenSSL.
  virtual void stop_for_exit(TimePoint deadline) noexcept = 0;

 protected:
  ~LiveWorker() = default;
};

std::mutex g_live_mu;
std::vector<std::weak_ptr<LiveWorker>> g_live;

void stop_live_workers_at_exit() noexcept;

// Registered (once) after the first client initialized libcurl and OpenSSL, so that exit()
// runs it before their exit-time cleanup (atexit handlers run in reverse order, library
// destructors after them all).
void remember_live(std::weak_ptr<LiveWorker> impl) {
  static const bool hooked = std::atexit(&stop_live_workers_at_exit) == 0;
  (void)hooked;
  std::lock_guard<std::mutex> lock(g_live_mu);
  g_live.erase(std::remove_if(g_live.begin(), g_live.end(), [](const auto& w) { return w.expired(); }),
               g_live.end());
  g_live.push_back(std::move(impl));
}

}  // namespace

// Hidden even in a shared build: nothing outside the library names it.
// Shared between the Client and its worker thread, so that a callback may destroy the Client:
// the worker then finishes on its own and the last of the two releases the Impl.
class OPSMETER_LOCAL Client::Impl final : public detail::RecordSink,
                                          public LiveWorker,
                                          public std::enable_shared_from_this<Client::Impl> {
  // An idle worker looks at the queue at least this often; record() wakes it sooner only when
  // this many records wait, so the caller's path makes no system call in the common case.
  static constexpr Millis kIdleWait{20};
  static constexpr std::size_t kWakeBatch = 64;
  // After this long with nothing recorded, the worker stops polling and sleeps on its own
  // timers (at most a second: step()'s housekeeping); the first record after that wakes it,
  // one system call (a record that races the worker falling asleep waits at most that second).
  static constexpr std::chrono::seconds kSleepAfter{1};
  // After a burst, the queue's memory beyond a small warm reserve goes back to the system once
  // the queue is empty; at most this often, so that back-to-back bursts reuse it.
  static constexpr std::chrono::seconds kQueueTrimEvery{5};
  static constexpr std::size_t kQueueWarmBytes = 512 * 1024;

 public:
  Impl(Options options, const detail::InternalOptions& internal)
      : generation_(fork_generation()),
        internal_(internal),
        config_(detail::finalize_options(std::move(options), internal)),
        logger_(config_.options.log_level, config_.options.on_log),
        shared_(config_.options.queue_capacity, config_.options.queue_max_bytes),
        accounting_(config_.options, shared_, logger_),
        gate_(config_.options.max_in_flight, shared_.paused_until_ns,
              detail::ProbeBackoff{config_.options.unreachable_probe_min, config_.options.unreachable_probe_max},
              detail::RateConfig{config_.options.rate_decrease, config_.options.rate_growth,
                                 config_.options.min_send_rate}) {
    for (const std::string& warning : config_.warnings) logger_.log(LogLevel::kWarn, warning);
    disabled_reason_ = config_.disabled_reason;
    if (disabled_reason_.empty()) disabled_reason_ = detail::ensure_curl_global_init();
    if (disabled_reason_.empty()) {
      transport_ = detail::make_curl_transport(detail::curl_settings(config_), disabled_reason_);
    }
    if (!disabled_reason_.empty()) {
      logger_.log(LogLevel::kError, "telemetry disabled: " + disabled_reason_);
      shared_.accepting.store(false, std::memory_order_release);
      return;
    }
    logger_.log(LogLevel::kInfo, detail::describe_delivery(config_));
    if (!config_.options.spool_dir.empty() && !config_.options.dry_run) {
      spool_ = std::make_unique<detail::Spool>(
          config_.options.spool_dir, detail::spool_identity(config_.options.base_url, config_.options.api_key),
          config_.options.spool_max_bytes, config_.options.spool_max_age, logger_);
      spool_refused_ = spool_->report().refused_reason;
      if (!spool_->enabled()) spool_.reset();  // refused, and logged: runs without one
    }
    dispatcher_.emplace(config_, shared_, *transport_, gate_, accounting_, [] { return Clock::now(); },
                        spool_.get());
  }

  // Starts the worker, which holds the Impl alive until it returns. May throw (no thread).
  void start() {
    if (!dispatcher_) return;
    worker_ = std::thread([self = shared_from_this()] { self->run_worker(); });
    remember_live(std::weak_ptr<LiveWorker>(weak_from_this()));
  }

  // At exit() with this client still live (leaked, or on main's stack): the worker must be out
  // of libcurl and OpenSSL before their exit-time cleanup frees what it uses. Signals it and
  // waits until `deadline` for it to leave its loop. What is pending is lost with the process.
  void stop_for_exit(TimePoint deadline) noexcept override {
    if (g_fork_generation.load(std::memory_order_relaxed) != generation_) return;  // parent's
    if (!worker_.joinable() || on_worker() || worker_done_.load(std::memory_order_acquire)) return;
    shared_.accepting.store(false, std::memory_order_seq_cst);
    stop_.store(true, std::memory_order_release);
    transport_->wakeup();
    while (!worker_done_.load(std::memory_order_acquire) && Clock::now() < deadline) {
      std::this_thread::sleep_for(Millis(1));
    }
    // Done: joining returns at once. Not done (stuck in a user callback): leave it running.
    if (worker_done_.load(std::memory_order_acquire)) {
      try {
        worker_.join();
      } catch (...) {
      }
    }
  }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  ~Impl() {
    if (g_fork_generation.load(std::memory_order_relaxed) != generation_) {
      // The parent's, freed in a child: its sockets are the parent's, its worker does not
      // exist here. Close the sockets without a byte, and leave libcurl's state and the
      // thread handle alone (never cleaned up, never joined).
      if (transport_) transport_->abandon_after_fork();
      (void)transport_.release();
      if (spool_) spool_->abandon_after_fork();
      new (&worker_) std::thread();  // forget the parent's thread without joining it
      dispatcher_.reset();
      return;
    }
    // On the worker thread only when a callback destroyed the Client: the worker has left its
    // loop and is returning, and nothing can join it.
    if (on_worker()) {
      worker_.detach();
    } else {
      shutdown(config_.options.shutdown_timeout);
    }
    // No record() can run now (the owner is gone), so a record that raced with shutdown() and
    // landed after its final drain is accounted for here.
    if (dispatcher_) dispatcher_->stop(detail::WallClock::now());
  }

  RecordResult record(LlmCallRecord&& record) noexcept override {
    if (Impl* next = successor()) return next->record(std::move(record));
    if (!disabled_reason_.empty() || orphaned()) return drop(DropReason::kDisabled);
    return hand_off(std::move(record));
  }

  // What ~Client and move-assignment do: the worker may hold the Impl beyond the Client.
  void close() noexcept {
    if (Impl* next = successor()) return next->close();
    if (!orphaned()) shutdown(config_.options.shutdown_timeout);
  }

  // From a callback (on the worker) it cannot wait for the worker that runs it: kTimedOut.
  FlushResult flush(Millis timeout) noexcept {
    if (Impl* next = successor()) return next->flush(timeout);
    if (on_worker() || orphaned()) return FlushResult::kTimedOut;
    return flush_until(Clock::now() + timeout);
  }

  FlushResult shutdown(Millis timeout) noexcept {
    if (Impl* next = successor()) return next->shutdown(timeout);
    if (orphaned()) return FlushResult::kTimedOut;
    if (on_worker()) {
      // From a callback: stop taking records, and let the worker stop once the callback
      // returns; it drops what is left as kShutdown. The owner's later shutdown() or the
      // destructor joins it.
      shared_.accepting.store(false, std::memory_order_seq_cst);
      stop_requested_on_worker_ = true;
      stop_.store(true, std::memory_order_release);
      return FlushResult::kTimedOut;
    }
    const TimePoint deadline = Clock::now() + timeout;
    // With a spool, the last quarter of the time is for writing what is still pending (a few
    // microseconds a record); what is left at the deadline is dropped, so the deadline holds.
    // And once the ingest API is unreachable there is nothing to wait for: it writes at once.
    const TimePoint flush_deadline = spool_ ? Clock::now() + timeout * 3 / 4 : deadline;
    std::lock_guard<std::mutex> lock(shutdown_mu_);
    if (!shut_down_) {
      shut_down_ = true;
      shared_.accepting.store(false, std::memory_order_seq_cst);
      if (worker_.joinable()) {
        // A worker a callback already stopped will deliver nothing more: no flush to wait for.
        shutdown_result_ = stop_.load(std::memory_order_acquire)
                               ? (drained() ? FlushResult::kFlushed : FlushResult::kTimedOut)
                               : flush_until(flush_deadline, /*until_unreachable=*/spool_ != nullptr);
      }
    }
    if (!worker_.joinable()) return shutdown_result_;
    stop_.store(true, std::memory_order_release);
    transport_->wakeup();
    worker_.join();
    // stop() also drops what a record() racing with this shutdown pushed after the worker's
    // last look; anything pushed later still is dropped by the destructor (see ~Impl).
    dispatcher_->stop(detail::WallClock::now(), deadline);
    notify_flushers();
    return shutdown_result_;
  }

  // In a child after fork() this Impl is the parent's: its worker does not exist here and its
  // connections are shared with the parent. The first call in the child closes those sockets
  // without writing on them and makes a fresh client with the same options (new worker, new
  // connections, counters from zero), to which every call is then forwarded. The records the
  // parent had queued or in flight stay the parent's: the child never sends them. The parent's
  // state is left untouched (and never freed) here. Null when not forked.
  Impl* successor() const noexcept {
    if (g_fork_generation.load(std::memory_order_relaxed) == generation_) return nullptr;
    if (Impl* next = successor_raw_.load(std::memory_order_acquire)) return next;
    return const_cast<Impl*>(this)->start_successor();
  }

  // Forked, but the child's fresh client could not be made: nothing may touch the parent's
  // worker or connections, so this one behaves as a disabled client.
  bool orphaned() const noexcept {
    return g_fork_generation.load(std::memory_order_relaxed) != generation_ &&
           successor_raw_.load(std::memory_order_acquire) == nullptr;
  }

  Impl* start_successor() noexcept {
    std::lock_guard<std::mutex> lock(fork_mu_);
    if (Impl* next = successor_raw_.load(std::memory_order_acquire)) return next;
    if (transport_) transport_->abandon_after_fork();
    if (spool_) spool_->abandon_after_fork();
    try {
      auto next = std::make_shared<Impl>(config_.options, internal_);
      next->logger_.log(LogLevel::kInfo,
                        "fork(): the child process starts its own telemetry worker and connections; "
                        "records queued before the fork stay with the parent");
      next->start();
      successor_ = std::move(next);
    } catch (...) {
      return nullptr;  // out of memory or no thread: this Impl answers, as a client that sends nothing
    }
    successor_raw_.store(successor_.get(), std::memory_order_release);
    return successor_raw_.load(std::memory_order_relaxed);
  }

  // Whether the calling thread is this client's worker (a callback is running).
  bool on_worker() const noexcept {
    return worker_id_.load(std::memory_order_acquire) == std::this_thread::get_id();
  }

  CheckResult check(Millis timeout) const noexcept {
    if (Impl* next = successor()) return next->check(timeout);
    if (!disabled_reason_.empty() || orphaned()) {
      CheckResult r;
      r.error = CheckError::kDisabled;
      try {
        r.detail = disabled_reason_;
      } catch (...) {
      }
      return r;
    }
    return detail::check_with(config_, timeout);
  }

  Stats stats() const noexcept {
    if (Impl* next = successor()) return next->stats();
    Stats s;
    try {
      accounting_.fill(s);
    } catch (...) {
      // Only allocation can fail here; the counters filled so far are still returned.
    }
    return s;
  }

  ClientStatus status() const noexcept {
    if (Impl* next = successor()) return next->status();
    ClientStatus st;
    try {
      st.enabled = disabled_reason_.empty();
      st.disabled_reason = disabled_reason_;
      st.shut_down = !shared_.accepting.load(std::memory_order_acquire) && st.enabled;
      const std::shared_ptr<const detail::GateStatus> gate = gate_.status();
      st.telemetry_paused = gate->paused;
      st.pause_reason = gate->pause_reason;
      st.paused_until = gate->paused_until;
      st.throttled_until = gate->throttled_until;
      st.throttled = gate->throttled_until > Clock::now();
      st.unreachable = gate->unreachable;
      st.unreachable_reason = gate->unreachable_reason;
      st.unreachable_since = gate->unreachable_since;
      st.next_probe_at = gate->next_probe_at;
      st.send_rate_limit = gate->send_rate_limit;
      st.posture = accounting_.posture();
      st.config_warnings = config_.warnings;
      st.spool_refused_reason = spool_refused_;
      if (spool_) {
        const detail::SpoolReport spool = spool_->report();
        st.spool_path = spool.path;
        st.spool_other_identity_files = spool.other_identity_files;
        st.spool_other_identity_bytes = spool.other_identity_bytes;
        if (spool.other_identity_oldest_unix_ms > 0) {
          st.spool_other_identity_oldest = std::chrono::system_clock::time_point(
              std::chrono::milliseconds(spool.other_identity_oldest_unix_ms));
        }
        st.spool_skipped_files = spool.skipped_files;
      }
    } catch (...) {
    }
    return st;
  }

 private:
  RecordResult hand_off(LlmCallRecord&& record) noexcept {
    if (!shared_.accepting.load(std::memory_order_seq_cst)) return drop(DropReason::kShutdown);
    // An overlong name would make the whole call invalid and its spend invisible: cut it.
    cut_to_cap(record.provider, limits::kMaxProviderBytes);
    cut_to_cap(record.model, limits::kMaxModelBytes);
    const ValidationError error = validate(record);
    if (!error.ok()) {
      shared_.last_invalid.store(error.field.data(), std::memory_order_relaxed);
      RecordResult result = drop(DropReason::kInvalid);
      result.outcome = RecordResult::Outcome::kInvalid;
      result.validation = error;
      return result;
    }
    // The coarse clock trails the steady clock by up to a tick: when it says "still paused",
    // the steady clock confirms, so a pause ends exactly at status().paused_until.
    const TimePoint now = detail::coarse_now();
    const std::int64_t paused_until = shared_.paused_until_ns.load(std::memory_order_acquire);
    if (detail::to_ns(now) < paused_until && detail::to_ns(Clock::now()) < paused_until) {
      return drop(DropReason::kPaused);
    }
    const std::uint64_t bytes = detail::queued_bytes(record, shared_.queue.slot_bytes());
    const bool pushed = shared_.queue.try_emplace_weighted(bytes, std::move(record), now);
    if (!pushed) return drop(DropReason::kQueueFull);  // the caller's record is untouched
    // No system call per record in steady traffic: an idle worker wakes by itself within
    // kIdleWait, and is woken early only once a batch has built up. A worker asleep (nothing
    // recorded for kSleepAfter) is woken by the first record.
    if (shared_.worker_asleep.load(std::memory_order_seq_cst)) {
      if (shared_.worker_asleep.exchange(false, std::memory_order_acq_rel)) transport_->wakeup();
    } else if (shared_.worker_idle.load(std::memory_order_relaxed) &&
        shared_.queue.size() >= kWakeBatch &&
        shared_.worker_idle.exchange(false, std::memory_order_acq_rel)) {
      transport_->wakeup();
    }
    return RecordResult{};
  }

  void cut_to_cap(std::string& name, std::size_t cap) noexcept {
    if (name.size() <= cap) return;
    name.resize(detail::utf8_prefix(name, cap).size());  // shrinks: never allocates
    shared_.names_cut.fetch_add(1, std::memory_order_relaxed);
  }

  RecordResult drop(DropReason reason) noexcept {
    shared_.count_drop(reason);
    shared_.dropped_at_record.fetch_add(1, std::memory_order_relaxed);
    return detail::dropped_result(reason);
  }

  bool drained() const noexcept {
    // Records read from the spool count like records taken from the queue.
    return shared_.finished.load(std::memory_order_seq_cst) ==
           shared_.queue.pushed() + shared_.unspooled.load(std::memory_order_seq_cst);
  }

  // `until_unreachable`: also stop waiting once the ingest API is unreachable (kTimedOut).
  FlushResult flush_until(TimePoint deadline, bool until_unreachable = false) noexcept {
    if (!worker_.joinable()) return drained() ? FlushResult::kFlushed : FlushResult::kTimedOut;
    transport_->wakeup();
    std::unique_lock<std::mutex> lock(flush_mu_);
    flush_waiters_.fetch_add(1, std::memory_order_seq_cst);
    bool done = false;
    flush_cv_.wait_until(lock, deadline, [&] {
      done = drained();
      return done || (until_unreachable && shared_.unreachable.load(std::memory_order_seq_cst));
    });
    flush_waiters_.fetch_sub(1, std::memory_order_relaxed);
    return done ? FlushResult::kFlushed : FlushResult::kTimedOut;
  }

  void notify_flushers() noexcept {
    // Waking a flusher that would only go back to sleep costs a context switch per step. (A
    // shutdown with a spool stops waiting once the ingest API is unreachable.)
    const bool spool_can_take_over = spool_ && shared_.unreachable.load(std::memory_order_seq_cst);
    if (flush_waiters_.load(std::memory_order_seq_cst) == 0 || !(drained() || spool_can_take_over)) return;
    { std::lock_guard<std::mutex> lock(flush_mu_); }
    flush_cv_.notify_all();
  }

  void run_worker() noexcept {
    // libcurl is told not to raise SIGPIPE, but a peer reset must never kill the host.
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, nullptr);
    worker_id_.store(std::this_thread::get_id(), std::memory_order_release);

    while (!stop_.load(std::memory_order_acquire)) {
      const TimePoint now = Clock::now();
      const TimePoint next = dispatcher_->step(now, detail::WallClock::now());
      notify_flushers();
      if (now - last_queue_trim_ >= kQueueTrimEvery && !shared_.queue.ready_to_pop()) {
        shared_.queue.trim(kQueueWarmBytes);
        last_queue_trim_ = now;
      }
      if (stop_.load(std::memory_order_acquire)) break;
      Millis wait = std::chrono::ceil<Millis>(next - Clock::now());
      const std::uint64_t recorded = shared_.queue.pushed();
      if (recorded != last_recorded_) {
        last_recorded_ = recorded;
        last_record_at_ = now;
      }
      if (dispatcher_->wants_records(Clock::now())) {
        if (shared_.queue.ready_to_pop()) {
          wait = Millis(0);
        } else if (now - last_record_at_ >= kSleepAfter) {
          shared_.worker_asleep.store(true, std::memory_order_seq_cst);
          if (shared_.queue.ready_to_pop()) wait = Millis(0);  // a record came meanwhile
        } else {
          shared_.worker_idle.store(true, std::memory_order_seq_cst);
          wait = std::min(wait, kIdleWait);
        }
      }
      if (wait > Millis(0)) transport_->wait(wait);
      // Written only when it changes: record() reads this line on every call.
      if (shared_.worker_idle.load(std::memory_order_relaxed)) {
        shared_.worker_idle.store(false, std::memory_order_relaxed);
      }
      if (shared_.worker_asleep.load(std::memory_order_relaxed)) {
        shared_.worker_asleep.store(false, std::memory_order_relaxed);
      }
    }
    // Stopped by a callback: nobody may be joining yet, so the worker settles its records now.
    if (stop_requested_on_worker_) {
      dispatcher_->stop(detail::WallClock::now());
      notify_flushers();
    }
    worker_done_.store(true, std::memory_order_release);
  }

  const std::uint64_t generation_;  // the fork generation this Impl was made in
  const detail::InternalOptions internal_;
  std::mutex fork_mu_;  // taken only in a forked child, by start_successor()
  std::shared_ptr<Impl> successor_;
  std::atomic<Impl*> successor_raw_{nullptr};
  detail::Config config_;
  detail::Logger logger_;
  detail::SharedState shared_;
  TimePoint last_queue_trim_{};  // worker only
  std::uint64_t last_recorded_ = 0;  // worker only: queue.pushed() when last looked at
  TimePoint last_record_at_{};       // worker only: when it last saw it grow
  detail::Accounting accounting_;
  detail::DeliveryGate gate_;
  std::string disabled_reason_;
  std::unique_ptr<detail::Transport> transport_;
  std::unique_ptr<detail::Spool> spool_;  // worker only, through the dispatcher (report() excepted)
  std::string spool_refused_;
  std::optional<detail::Dispatcher> dispatcher_;
  std::thread worker_;
  std::atomic<std::thread::id> worker_id_{};
  std::atomic<bool> stop_{false};
  std::atomic<bool> worker_done_{false};   // the worker left its loop for good
  bool stop_requested_on_worker_ = false;  // worker thread only

  std::mutex flush_mu_;
  std::condition_variable flush_cv_;
  std::atomic<int> flush_waiters_{0};

  std::mutex shutdown_mu_;
  bool shut_down_ = false;
  FlushResult shutdown_result_ = FlushResult::kFlushed;
};

namespace {

void stop_live_workers_at_exit() noexcept {
  std::vector<std::shared_ptr<LiveWorker>> live;
  try {
    std::lock_guard<std::mutex> lock(g_live_mu);
    for (const auto& weak : g_live) {
      if (auto impl = weak.lock()) live.push_back(std::move(impl));
    }
  } catch (...) {
    return;
  }
  // One deadline for all: exit() must not wait long for a worker stuck in a user callback.
  const TimePoint deadline = Clock::now() + Millis(500);
  for (const auto& impl : live) impl->stop_for_exit(deadline);
}

}  // namespace

Client::Client(Options options) noexcept : Client(std::move(options), detail::InternalOptions{}) {}

Client::Client(Options options, const detail::InternalOptions& internal) noexcept {
  try {
    impl_ = std::make_shared<Impl>(std::move(options), internal);
    impl_->start();
  } catch (...) {
    impl_.reset();  // out of memory or no thread: a null impl behaves as a disabled client
  }
}

Client::~Client() {
  if (impl_) impl_->close();
}

Client::Client(Client&& other) noexcept = default;

Client& Client::operator=(Client&& other) noexcept {
  if (this == &other) return *this;
  if (impl_) impl_->close();
  impl_ = std::move(other.impl_);
  return *this;
}

RecordResult Client::record(LlmCallRecord&& record) noexcept {
  if (!impl_) return detail::dropped_result(DropReason::kDisabled);
  return impl_->record(std::move(record));
}

RecordResult Client::record(const LlmCallRecord& record) noexcept {
  try {
    LlmCallRecord copy = record;
    return this->record(std::move(copy));
  } catch (...) {
    return detail::dropped_result(DropReason::kInternal);
  }
}

CallScope Client::start_call(std::string_view provider, std::string_view model,
                             const CallOptions& options) noexcept {
  return detail::CallScopeAccess::begin(impl_.get(), provider, model, options);
}

FlushResult Client::flush(std::chrono::milliseconds timeout) noexcept {
  return impl_ ? impl_->flush(timeout) : FlushResult::kFlushed;
}

FlushResult Client::shutdown(std::chrono::milliseconds timeout) noexcept {
  return impl_ ? impl_->shutdown(timeout) : FlushResult::kFlushed;
}

Stats Client::stats() const noexcept { return impl_ ? impl_->stats() : Stats{}; }

CheckResult Client::check(std::chrono::milliseconds timeout) const noexcept {
  if (impl_) return impl_->check(timeout);
  CheckResult r;
  r.error = CheckError::kDisabled;
  return r;
}

ClientStatus Client::status() const noexcept {
  if (impl_) return impl_->status();
  ClientStatus st;
  st.disabled_reason = "client was moved from or could not be created";
  return st;
}

}  // namespace opsmeter
