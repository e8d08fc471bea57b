// The worker thread (see worker.hpp).
#include "delivery/worker.hpp"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <new>

namespace opsmeter::detail {

void Worker::start(std::shared_ptr<const void> owner) {
  thread_ = std::thread([this, owner = std::move(owner)] { run(); });
}

void Worker::stop_and_join() noexcept {
  if (!thread_.joinable()) return;
  stop_.store(true, std::memory_order_release);
  transport_.wakeup();
  try {
    thread_.join();
  } catch (...) {
  }
}

void Worker::stop_from_callback() noexcept {
  shared_.admission.stop_accepting();
  stopped_by_callback_ = true;
  stop_.store(true, std::memory_order_release);
}

void Worker::stop_for_exit(TimePoint deadline) noexcept {
  if (!thread_.joinable() || on_worker() || done()) return;
  shared_.admission.stop_accepting();
  stop_.store(true, std::memory_order_release);
  transport_.wakeup();
  while (!done() && Clock::now() < deadline) std::this_thread::sleep_for(Millis(1));
  // Done: joining returns at once. Not done (stuck in a user callback): leave it running.
  if (done()) {
    try {
      thread_.join();
    } catch (...) {
    }
  }
}

void Worker::forget_after_fork() noexcept {
  new (&thread_) std::thread();  // the parent's thread handle, dropped without join or detach
}

void Worker::detach() noexcept {
  try {
    if (thread_.joinable()) thread_.detach();
  } catch (...) {
  }
}

void Worker::run() noexcept {
  // libcurl is told not to raise SIGPIPE, but a peer reset must never kill the host.
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &block, nullptr);
  id_.store(std::this_thread::get_id(), std::memory_order_release);
  // Its name in top -H, ps -L, gdb and perf (15 bytes at most).
  pthread_setname_np(pthread_self(), "opsmeter-worker");

  while (!stop_.load(std::memory_order_acquire)) {
    const TimePoint now = Clock::now();
    const TimePoint next = dispatcher_.step(Now{now, WallClock::now()});
    flushers_.notify();
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
    if (dispatcher_.wants_records(Clock::now())) {
      if (shared_.queue.ready_to_pop()) {
        wait = Millis(0);
      } else if (now - last_record_at_ >= kSleepAfter) {
        shared_.admission.worker_asleep.store(true, std::memory_order_seq_cst);
        if (shared_.queue.ready_to_pop()) wait = Millis(0);  // a record came meanwhile
      } else {
        shared_.admission.worker_idle.store(true, std::memory_order_seq_cst);
        wait = std::min(wait, kIdleWait);
      }
    }
    if (wait > Millis(0)) transport_.wait(wait);
    // Written only when it changes: record() reads this line on every call.
    if (shared_.admission.worker_idle.load(std::memory_order_relaxed)) {
      shared_.admission.worker_idle.store(false, std::memory_order_relaxed);
    }
    if (shared_.admission.worker_asleep.load(std::memory_order_relaxed)) {
      shared_.admission.worker_asleep.store(false, std::memory_order_relaxed);
    }
  }
  // Stopped by a callback: nobody may be joining yet, so the worker settles its records now.
  if (stopped_by_callback_) {
    dispatcher_.stop(WallClock::now());
    flushers_.notify();
  }
  done_.store(true, std::memory_order_release);
}

}  // namespace opsmeter::detail
