// Where flush() and shutdown() wait for the worker: until every record taken in has ended
// (delivered, dropped or spooled), or, for a shutdown with a spool, until the ingest API is
// known to be unreachable (the spool takes over then). The worker notifies after each step,
// and only when a waiter could return: waking one that would go back to sleep costs a context
// switch per step.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "base/clock.hpp"
#include "delivery/shared_state.hpp"
#include "opsmeter/client.hpp"

namespace opsmeter::detail {

class FlushWaiter {
 public:
  explicit FlushWaiter(const SharedState& shared) noexcept : shared_(shared) {}

  // With a spool, a shutdown may stop waiting once the ingest API is unreachable.
  void set_spool(bool spool) noexcept { spool_ = spool; }

  // Every record taken into the queue (or read from the spool) has ended.
  bool drained() const noexcept {
    return shared_.finished.load(std::memory_order_seq_cst) ==
           shared_.queue.pushed() + shared_.unspooled.load(std::memory_order_seq_cst);
  }

  // Waits until drained() (kFlushed) or `deadline` (kTimedOut); with `until_unreachable`, also
  // stops (kTimedOut) once the ingest API is unreachable.
  FlushResult wait(TimePoint deadline, bool until_unreachable) noexcept {
    std::unique_lock<std::mutex> lock(mu_);
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    bool done = false;
    cv_.wait_until(lock, deadline, [&] {
      done = drained();
      return done || (until_unreachable && shared_.unreachable.load(std::memory_order_seq_cst));
    });
    waiters_.fetch_sub(1, std::memory_order_relaxed);
    return done ? FlushResult::kFlushed : FlushResult::kTimedOut;
  }

  void notify() noexcept {
    const bool spool_can_take_over = spool_ && shared_.unreachable.load(std::memory_order_seq_cst);
    if (waiters_.load(std::memory_order_seq_cst) == 0 || !(drained() || spool_can_take_over)) return;
    { std::lock_guard<std::mutex> lock(mu_); }
    cv_.notify_all();
  }

 private:
  const SharedState& shared_;
  bool spool_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<int> waiters_{0};
};

}  // namespace opsmeter::detail
