// The bounded multi-producer queue between record() and the worker.
//
// A ring of preallocated slots, each with a sequence number (D. Vyukov's bounded queue):
// producers claim a position with one CAS and move their item into the slot; the single
// consumer moves it out. No locks, no allocation after construction. A full ring rejects the
// push at once, so record() never waits.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

namespace opsmeter::detail {

template <typename T>
class RingQueue {
 public:
  // May throw std::bad_alloc (the caller constructs it inside a try block).
  explicit RingQueue(std::size_t capacity)
      : capacity_(capacity == 0 ? 1 : capacity), slots_(new Slot[capacity_]) {
    for (std::size_t i = 0; i < capacity_; ++i) slots_[i].sequence.store(i, std::memory_order_relaxed);
  }

  RingQueue(const RingQueue&) = delete;
  RingQueue& operator=(const RingQueue&) = delete;

  // Any thread. Moves from `item` only on success; returns false when full.
  bool try_push(T& item) noexcept {
    return try_push_with([&item](T& slot) noexcept { slot = std::move(item); });
  }

  // Any thread. On success calls fill(slot) (which must not throw) to write the item in place,
  // so the caller's data is moved once; returns false when full without calling it.
  template <typename Fill>
  bool try_push_with(Fill&& fill) noexcept {
    std::size_t pos = enqueue_pos_.load(std::memory_order_relaxed);
    for (;;) {
      Slot& slot = slots_[pos % capacity_];
      const std::size_t seq = slot.sequence.load(std::memory_order_acquire);
      const auto diff = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos);
      if (diff == 0) {
        if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          fill(slot.item);
          slot.sequence.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;  // the slot still holds an item from one lap ago: full
      } else {
        pos = enqueue_pos_.load(std::memory_order_relaxed);
      }
    }
  }

  // Consumer thread only. Moves the oldest item into `out`; false when empty (or when the
  // oldest producer has claimed its slot but not finished writing it).
  bool try_pop(T& out) noexcept {
    const std::size_t pos = dequeue_pos_.load(std::memory_order_relaxed);
    Slot& slot = slots_[pos % capacity_];
    const std::size_t seq = slot.sequence.load(std::memory_order_acquire);
    if (seq != pos + 1) return false;
    out = std::move(slot.item);
    dequeue_pos_.store(pos + 1, std::memory_order_relaxed);
    slot.sequence.store(pos + capacity_, std::memory_order_release);
    return true;
  }

  std::size_t capacity() const noexcept { return capacity_; }
  // Items ever claimed by producers / taken by the consumer (monotonic counters).
  std::uint64_t pushed() const noexcept { return enqueue_pos_.load(std::memory_order_acquire); }
  std::uint64_t popped() const noexcept { return dequeue_pos_.load(std::memory_order_acquire); }
  std::size_t size() const noexcept {
    const std::uint64_t out = popped();
    const std::uint64_t in = pushed();
    return in > out ? static_cast<std::size_t>(in - out) : 0;
  }

 private:
  struct Slot {
    std::atomic<std::size_t> sequence{0};
    T item{};
  };

  const std::size_t capacity_;
  std::unique_ptr<Slot[]> slots_;
  alignas(64) std::atomic<std::size_t> enqueue_pos_{0};
  alignas(64) std::atomic<std::size_t> dequeue_pos_{0};
};

}  // namespace opsmeter::detail
