// The worker thread: runs the dispatcher's step() in a loop and sleeps in the transport's
// wait(), with the idle/wake protocol it shares with record() and the queue's trim after
// bursts. Stopping it: from the owner (request_stop(), then join()), from a callback on the
// worker itself (stop_from_callback()), at exit() (stop_for_exit()), or never in a forked
// child (forget_after_fork()).
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "base/clock.hpp"
#include "delivery/dispatcher.hpp"
#include "delivery/flush_waiter.hpp"
#include "delivery/shared_state.hpp"
#include "transport/transport.hpp"

namespace opsmeter::detail {

class Worker {
 public:
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

  Worker(SharedState& shared, Dispatcher& dispatcher, Transport& transport, FlushWaiter& flushers) noexcept
      : shared_(shared), dispatcher_(dispatcher), transport_(transport), flushers_(flushers) {}
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the thread; it holds `owner` alive until it returns. May throw (no thread).
  void start(std::shared_ptr<const void> owner);
  bool started() const noexcept { return thread_.joinable(); }
  // Whether the calling thread is the worker (a callback is running).
  bool on_worker() const noexcept { return id_.load(std::memory_order_acquire) == std::this_thread::get_id(); }
  bool stopping() const noexcept { return stop_.load(std::memory_order_acquire); }
  bool done() const noexcept { return done_.load(std::memory_order_acquire); }

  // record()'s side of the protocol, after a push: wakes a worker that sleeps, or one that
  // idles with a batch waiting.
  static void wake_for(SharedState& shared, Transport& transport) noexcept {
    if (shared.admission.worker_asleep.load(std::memory_order_seq_cst)) {
      if (shared.admission.worker_asleep.exchange(false, std::memory_order_acq_rel)) transport.wakeup();
    } else if (shared.admission.worker_idle.load(std::memory_order_relaxed) && shared.queue.size() >= kWakeBatch &&
               shared.admission.worker_idle.exchange(false, std::memory_order_acq_rel)) {
      transport.wakeup();
    }
  }

  // Stops the loop and joins the thread (not from the worker itself).
  void stop_and_join() noexcept;
  // From a callback: the loop stops once the callback returns, and the worker settles its
  // records itself (nobody may be joining yet). The owner's later join returns at once.
  void stop_from_callback() noexcept;
  // At exit(): stops the loop and waits until `deadline` for it to leave; joins it if it did
  // (one stuck in a user callback is left running).
  void stop_for_exit(TimePoint deadline) noexcept;
  // In a forked child, for the parent's worker: the thread does not exist here; forget it
  // without joining.
  void forget_after_fork() noexcept;
  // What the owner's destructor does when a callback destroyed the client (on the worker).
  void detach() noexcept;

 private:
  void run() noexcept;

  SharedState& shared_;
  Dispatcher& dispatcher_;
  Transport& transport_;
  FlushWaiter& flushers_;
  std::thread thread_;
  std::atomic<std::thread::id> id_{};
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};      // the worker left its loop for good
  bool stopped_by_callback_ = false;   // worker thread only
  TimePoint last_queue_trim_{};        // worker only
  std::uint64_t last_recorded_ = 0;    // worker only: queue.pushed() when last looked at
  TimePoint last_record_at_{};         // worker only: when it last saw it grow
};

}  // namespace opsmeter::detail
