// The state shared by the three parties of a client: callers of record(), the worker, and
// readers of stats()/status(): the queue, the flags record() reads, and the counters, all
// lock-free. What else the readers see lives with its owner: the windows in the delivery
// gate, the last error and posture in the accounting.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "base/clock.hpp"
#include "opsmeter/client.hpp"
#include "delivery/ring_queue.hpp"

namespace opsmeter::detail {

struct QueuedRecord {
  QueuedRecord() = default;
  QueuedRecord(LlmCallRecord&& r, TimePoint at) noexcept : record(std::move(r)), enqueued_at(at) {}

  LlmCallRecord record;
  TimePoint enqueued_at{};
};

struct SharedState {
  explicit SharedState(std::size_t capacity) : queue(capacity) {}

  void count_drop(DropReason reason) noexcept {
    dropped[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t dropped_total() const noexcept {
    std::uint64_t total = 0;
    for (const auto& d : dropped) total += d.load(std::memory_order_relaxed);
    return total;
  }

  RingQueue<QueuedRecord> queue;

  // Read by every record(), written rarely: a cache line of their own, so the worker's
  // counter updates below do not evict it from the callers' caches.
  // The end of a 402 pause (steady-clock ns), set by the worker.
  alignas(64) std::atomic<std::int64_t> paused_until_ns{0};
  std::atomic<bool> accepting{true};      // false once shutdown starts
  std::atomic<bool> worker_idle{false};   // true while the worker sleeps and wants records

  alignas(64) std::array<std::atomic<std::uint64_t>, kDropReasonCount> dropped{};
  std::atomic<std::uint64_t> dropped_at_record{0};  // the part of `dropped` counted by record()
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> finished{0};  // records taken from the queue that reached an end
  std::atomic<std::uint64_t> in_flight{0};
  std::atomic<std::uint64_t> retry_waiting{0};
  std::atomic<std::uint64_t> retried{0};
  std::atomic<std::uint64_t> throttled{0};
  std::atomic<std::uint64_t> requests_sent{0};
  std::atomic<std::uint64_t> bytes_sent{0};
  std::atomic<std::uint64_t> callback_errors{0};
  std::atomic<const char*> last_invalid{nullptr};  // JSON name of the last invalid field (static)
  std::atomic<std::uint64_t> names_cut{0};  // provider/model names record() cut to their cap
};

}  // namespace opsmeter::detail
