// The bounded multi-producer queue between record() and the worker.
//
// A ring of preallocated slots, each with a sequence number (D. Vyukov's bounded queue):
// producers claim a position with one CAS and move-construct their item in the slot; the
// single consumer moves it out. No locks, no allocation after construction. A full ring
// rejects the push at once, so record() never waits.
//
// The slots are mapped anonymous memory, zero until first written, and nothing writes them
// at construction: each slot stores its sequence number minus its own index, which is zero
// for a slot never used. So a client that records nothing holds none of the ring in memory,
// and the ring's pages become resident only as records pass through them.
#pragma once

#include <sys/mman.h>

// The ring lives outside the heap, where the leak checker does not look: under ASan (LSan)
// it is registered as a root region, so items still queued at exit are not reported as leaks.
#if defined(__SANITIZE_ADDRESS__)
#define OPSMETER_RING_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define OPSMETER_RING_LSAN 1
#endif
#endif
#if defined(OPSMETER_RING_LSAN)
#include <sanitizer/lsan_interface.h>
#endif

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace opsmeter::detail {

template <typename T>
class RingQueue {
 public:
  // May throw std::bad_alloc (the caller constructs it inside a try block).
  explicit RingQueue(std::size_t capacity)
      : capacity_(capacity == 0 ? 1 : capacity), slots_(map_slots(capacity_)) {}

  RingQueue(const RingQueue&) = delete;
  RingQueue& operator=(const RingQueue&) = delete;

  ~RingQueue() {
    // Single-threaded now: destroy what is still queued.
    for (std::size_t pos = dequeue_pos_.load(std::memory_order_relaxed);
         pos != enqueue_pos_.load(std::memory_order_relaxed); ++pos) {
      const std::size_t index = pos % capacity_;
      if (sequence(index, __ATOMIC_RELAXED) == pos + 1) slots_[index].item()->~T();
    }
#if defined(OPSMETER_RING_LSAN)
    __lsan_unregister_root_region(slots_, bytes());
#endif
    munmap(slots_, bytes());
  }

  // Any thread. Moves from `item` only on success; returns false when full.
  bool try_push(T& item) noexcept { return try_emplace(std::move(item)); }

  // Any thread. On success constructs the item in its slot from `args` (which must not throw),
  // so the caller's data is moved once, by a move constructor; returns false when full
  // without touching `args`.
  template <typename... Args>
  bool try_emplace(Args&&... args) noexcept {
    static_assert(std::is_nothrow_constructible_v<T, Args&&...>, "record() must not throw");
    std::size_t pos = enqueue_pos_.load(std::memory_order_relaxed);
    for (;;) {
      const std::size_t index = pos % capacity_;
      Slot& slot = slots_[index];
      const std::size_t seq = sequence(index, __ATOMIC_ACQUIRE);
      const auto diff = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos);
      if (diff == 0) {
        if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          ::new (static_cast<void*>(slot.storage)) T(std::forward<Args>(args)...);
          set_sequence(index, pos + 1);
          prefetch_for_write(slots_[(pos + 1) % capacity_]);
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
    const std::size_t index = pos % capacity_;
    Slot& slot = slots_[index];
    if (sequence(index, __ATOMIC_ACQUIRE) != pos + 1) return false;
    out = std::move(*slot.item());
    slot.item()->~T();
    dequeue_pos_.store(pos + 1, std::memory_order_relaxed);
    set_sequence(index, pos + capacity_);
    return true;
  }

  // Consumer thread only: whether try_pop() would find an item. Reads only the consumer's
  // side (its position and that slot), never the producers' hot position counter.
  bool ready_to_pop() const noexcept {
    const std::size_t pos = dequeue_pos_.load(std::memory_order_relaxed);
    return sequence(pos % capacity_, __ATOMIC_ACQUIRE) == pos + 1;
  }

  std::size_t capacity() const noexcept { return capacity_; }
  // The slots' memory, for tests and benchmarks that look at what of it is resident.
  const void* storage() const noexcept { return slots_; }
  std::size_t bytes() const noexcept { return capacity_ * sizeof(Slot); }
  // Items ever claimed by producers / taken by the consumer (monotonic counters).
  std::uint64_t pushed() const noexcept { return enqueue_pos_.load(std::memory_order_acquire); }
  std::uint64_t popped() const noexcept { return dequeue_pos_.load(std::memory_order_acquire); }
  std::size_t size() const noexcept {
    const std::uint64_t out = popped();
    const std::uint64_t in = pushed();
    return in > out ? static_cast<std::size_t>(in - out) : 0;
  }

 private:
  // An empty slot holds raw storage: a push move-constructs into it (cheaper than assigning
  // into a moved-from item) and a pop destroys what it moved from.
  // A plain struct (zero bytes are a valid, unused slot); `offset` is only ever accessed with
  // the __atomic builtins.
  struct alignas(64) Slot {  // whole cache lines: neighbours never share one
    std::size_t offset;  // the sequence number minus the slot's index: 0 = never used
    alignas(T) unsigned char storage[sizeof(T)];
    T* item() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
  };

  static Slot* map_slots(std::size_t capacity) {
    void* memory = mmap(nullptr, capacity * sizeof(Slot), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) throw std::bad_alloc();
#if defined(OPSMETER_RING_LSAN)
    __lsan_register_root_region(memory, capacity * sizeof(Slot));
#endif
    return static_cast<Slot*>(memory);  // page-aligned, zero: every slot unused
  }

  std::size_t sequence(std::size_t index, int order) const noexcept {
    return __atomic_load_n(&slots_[index].offset, order) + index;
  }
  void set_sequence(std::size_t index, std::size_t value) noexcept {
    __atomic_store_n(&slots_[index].offset, value - index, __ATOMIC_RELEASE);
  }

  // The next push writes the next slot, whose lines were last written by the consumer (on
  // another core) a lap ago. Asking for them now takes that cache miss off the next caller's
  // path: callers are spaced apart, the prefetch completes in between. Only a hint.
  static void prefetch_for_write(const Slot& slot) noexcept {
#if defined(__GNUC__)
    const char* p = reinterpret_cast<const char*>(&slot);
    for (std::size_t offset = 0; offset < sizeof(Slot); offset += 64) __builtin_prefetch(p + offset, 1, 3);
#else
    (void)slot;
#endif
  }

  const std::size_t capacity_;
  Slot* const slots_;
  alignas(64) std::atomic<std::size_t> enqueue_pos_{0};
  alignas(64) std::atomic<std::size_t> dequeue_pos_{0};
};

}  // namespace opsmeter::detail
