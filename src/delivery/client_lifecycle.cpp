// Client::Impl's lifecycle: flush and shutdown (with their deadlines, from any thread or from
// a callback on the worker), the destructor, exit(), and fork() (see client_impl.hpp).
#include "delivery/client_impl.hpp"

namespace opsmeter {

using detail::Clock;
using detail::Millis;
using detail::TimePoint;

Client::Impl::~Impl() {
  if (forked()) {
    // The parent's, freed in a child: its sockets, files and thread are the parent's. Close
    // the sockets without a byte, let go of the spool's files without a write, and leave
    // libcurl's state and the thread alone (never cleaned up, never joined).
    abandon_parents_state();
    (void)transport_.release();
    if (worker_) worker_->forget_after_fork();
    worker_.reset();
    dispatcher_.reset();
    return;
  }
  // On the worker thread only when a callback destroyed the Client: the worker has left its
  // loop and is returning, and nothing can join it.
  if (worker_ && worker_->on_worker()) {
    worker_->detach();
  } else {
    shutdown(config_.options.shutdown_timeout);
  }
  // No record() can run now (the owner is gone), so a record that raced with shutdown() and
  // landed after its final drain is accounted for here.
  if (dispatcher_) dispatcher_->stop(detail::WallClock::now());
}

void Client::Impl::close() noexcept {
  if (!orphaned()) shutdown(config_.options.shutdown_timeout);
}

FlushResult Client::Impl::flush(Millis timeout) noexcept {
  if (orphaned() || (worker_ && worker_->on_worker())) return FlushResult::kTimedOut;
  return flush_until(Clock::now() + timeout, false);
}

FlushResult Client::Impl::shutdown(Millis timeout) noexcept {
  if (orphaned()) return FlushResult::kTimedOut;
  if (worker_ && worker_->on_worker()) {
    // From a callback: stop taking records, and let the worker stop once the callback
    // returns; it drops what is left as kShutdown. The owner's later shutdown() or the
    // destructor joins it.
    worker_->stop_from_callback();
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
    shared_.admission.stop_accepting();
    if (worker_ && worker_->started()) {
      // A worker a callback already stopped will deliver nothing more: no flush to wait for.
      shutdown_result_ = worker_->stopping()
                             ? (flushers_.drained() ? FlushResult::kFlushed : FlushResult::kTimedOut)
                             : flush_until(flush_deadline, /*until_unreachable=*/spool_ != nullptr);
    }
  }
  if (!worker_ || !worker_->started()) return shutdown_result_;
  worker_->stop_and_join();
  // stop() also drops what a record() racing with this shutdown pushed after the worker's
  // last look; anything pushed later still is dropped by the destructor (see ~Impl).
  dispatcher_->stop(detail::WallClock::now(), deadline);
  flushers_.notify();
  return shutdown_result_;
}

FlushResult Client::Impl::flush_until(TimePoint deadline, bool until_unreachable) noexcept {
  if (!worker_ || !worker_->started()) return flushers_.drained() ? FlushResult::kFlushed : FlushResult::kTimedOut;
  transport_->wakeup();
  return flushers_.wait(deadline, until_unreachable);
}

void Client::Impl::stop_for_exit(TimePoint deadline) noexcept {
  if (forked() || !worker_) return;  // the parent's
  worker_->stop_for_exit(deadline);
}

Client::Impl* Client::Impl::start_successor() noexcept {
  std::lock_guard<std::mutex> lock(fork_mu_);
  if (Impl* next = successor_raw_.load(std::memory_order_acquire)) return next;
  abandon_parents_state();
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

void Client::Impl::abandon_parents_state() noexcept {
  if (transport_) transport_->abandon_after_fork();
  if (spool_) spool_->abandon_after_fork();
}

}  // namespace opsmeter
