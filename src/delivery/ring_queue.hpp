// The bounded multi-producer queue between record() and the worker.
//
// Two bounds, whichever comes first: a number of items and a number of bytes (each item
// brings its own weight, for records an estimate of the memory they hold). Both live in one
// atomic word, so a push reserves its room with one CAS and a full queue rejects at once:
// record() never waits. The push then takes the next position (one fetch_add on the same
// cache line) and move-constructs its item in that position's slot; the single consumer
// moves it out. No locks and no allocation.
//
// Memory follows what is queued, not the bounds. Positions are grouped in chunks of about
// 64 KiB of slots, and a table maps each chunk of the ring to a region of one mapping of
// anonymous memory, zero until first written (zero bytes are an empty slot). The push that
// first needs a chunk takes a free region for it (one CAS per chunk); the consumer gives the
// region back when it has emptied the chunk. Free regions are kept in two stacks: "warm" ones,
// recently used and still in memory, which pushes take first, so a steady flow of records
// cycles through a few regions that stay resident; and "cold" ones, whose pages are handed back
// to the system (never used yet, or trimmed by the worker when idle). So an idle client holds
// none of the queue, a busy one a few chunks, and a burst its own size, until trim() returns
// what is more than the warm reserve.
//
// Why a chunk's table entry is free when a push needs it: a push holds its reservation from
// before it takes its position until the consumer has emptied that position, and the consumer
// empties positions in order. So when a push takes position p, every position from the oldest
// one not yet emptied up to p holds a reservation: at most max_items of them. The table has
// one entry more than max_items needs, so the chunk that used p's entry a lap ago has been
// emptied and its entry cleared. (And the memory model agrees: of the pushes that took the
// positions between that chunk's end and p, at least one reserved after the consumer cleared
// the entry, and the positions are taken with acquire-release, which chains the two.)
#pragma once

#include <sys/mman.h>
#include <unistd.h>

// The regions live outside the heap, where the leak checker does not look: under ASan (LSan)
// they are registered as a root region, so items still queued at exit are not reported as leaks.
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

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace opsmeter::detail {

template <typename T>
class RingQueue {
 public:
  // The bounds' word: the item count above kCountShift, the bytes below.
  static constexpr unsigned kCountShift = 44;
  static constexpr std::uint64_t kMaxBytes = (std::uint64_t{1} << kCountShift) - 1;
  static constexpr std::size_t kMaxItems = (std::size_t{1} << (64 - kCountShift)) - 1;
  static constexpr std::size_t kChunkBytes = 64 * 1024;
  // Regions beyond the table's entries: a push that loses the race to install a region gives
  // it back at once, and these cover such regions in transit.
  static constexpr std::size_t kSpareRegions = 64;
  // Room goes back after at most this many pops (fewer for a small queue: at most a thousandth
  // of the item bound is ever held back), and whenever a pop finds the queue empty.
  static constexpr std::size_t kReleaseBatch = 32;

  // May throw std::bad_alloc (the caller constructs it inside a try block).
  explicit RingQueue(std::size_t max_items, std::uint64_t max_bytes = kMaxBytes)
      : max_items_(std::clamp<std::size_t>(max_items, 1, kMaxItems)),
        max_bytes_(std::min(max_bytes, kMaxBytes)),
        chunk_slots_(slots_per_chunk()),
        chunk_shift_(log2(chunk_slots_)),
        entries_count_(round_up_to_power_of_two((max_items_ + chunk_slots_ - 1) / chunk_slots_ + 1)),
        regions_count_(entries_count_ + kSpareRegions),
        release_batch_(std::clamp<std::size_t>(max_items_ / 1000, 1, kReleaseBatch)),
        entries_(new std::atomic<std::uint32_t>[entries_count_]),
        next_(new std::atomic<std::uint32_t>[regions_count_]),
        slots_(map_slots(regions_count_ * chunk_slots_)) {
    for (std::size_t i = 0; i < entries_count_; ++i) entries_[i].store(0, std::memory_order_relaxed);
    // Every region starts cold, the lowest on top.
    for (std::size_t r = regions_count_; r-- > 0;) push(cold_, static_cast<std::uint32_t>(r));
    trim_keep_.reserve(regions_count_);
  }

  RingQueue(const RingQueue&) = delete;
  RingQueue& operator=(const RingQueue&) = delete;

  ~RingQueue() {
    // Single-threaded now: destroy what is still queued.
    for (std::size_t pos = dequeue_pos_.load(std::memory_order_relaxed);
         pos != enqueue_pos_.load(std::memory_order_relaxed); ++pos) {
      const std::uint32_t entry = entries_[entry_index(pos)].load(std::memory_order_relaxed);
      if (entry == 0) continue;
      Slot& slot = region(entry - 1)[pos & (chunk_slots_ - 1)];
      if (__atomic_load_n(&slot.full, __ATOMIC_RELAXED) != 0) slot.item()->~T();
    }
#if defined(OPSMETER_RING_LSAN)
    __lsan_unregister_root_region(slots_, bytes());
#endif
    munmap(slots_, bytes());
  }

  // Any thread. Moves from `item` only on success; returns false when full.
  bool try_push(T& item, std::uint64_t weight = 0) noexcept {
    return try_emplace_weighted(weight, std::move(item));
  }

  // Any thread. On success constructs the item in its slot from `args` (which must not throw),
  // so the caller's data is moved once, by a move constructor; returns false, without
  // touching `args`, when the item or its `weight` in bytes does not fit.
  template <typename... Args>
  bool try_emplace_weighted(std::uint64_t weight, Args&&... args) noexcept {
    static_assert(std::is_nothrow_constructible_v<T, Args&&...>, "record() must not throw");
    if (weight > max_bytes_) return false;
    const std::uint64_t add = (std::uint64_t{1} << kCountShift) + weight;
    std::uint64_t bounds = bounds_.load(std::memory_order_relaxed);
    do {
      if ((bounds >> kCountShift) >= max_items_ || (bounds & kMaxBytes) + weight > max_bytes_) return false;
    } while (!bounds_.compare_exchange_weak(bounds, bounds + add, std::memory_order_acquire,
                                            std::memory_order_relaxed));
    const std::size_t pos = enqueue_pos_.fetch_add(1, std::memory_order_acq_rel);
    const std::size_t in_chunk = pos & (chunk_slots_ - 1);
    Slot* chunk = chunk_for_push(entry_index(pos));
    Slot& slot = chunk[in_chunk];
    ::new (static_cast<void*>(slot.storage)) T(std::forward<Args>(args)...);
    slot.weight = weight;
    __atomic_store_n(&slot.full, 1u, __ATOMIC_RELEASE);
    if (in_chunk + 1 < chunk_slots_) prefetch_for_write(chunk[in_chunk + 1]);
    return true;
  }
  template <typename... Args>
  bool try_emplace(Args&&... args) noexcept {
    return try_emplace_weighted(0, std::forward<Args>(args)...);
  }

  // Consumer thread only. Moves the oldest item into `out`; false when empty (or when the
  // oldest producer has taken its position but not finished writing it).
  bool try_pop(T& out) noexcept {
    const std::size_t pos = dequeue_pos_.load(std::memory_order_relaxed);
    Slot* slot = consumer_slot(pos);
    if (slot == nullptr) {
      release_room();
      return false;
    }
    out = std::move(*slot->item());
    slot->item()->~T();
    const std::uint64_t weight = slot->weight;
    __atomic_store_n(&slot->full, 0u, __ATOMIC_RELAXED);  // published by the entry's release
    dequeue_pos_.store(pos + 1, std::memory_order_release);
    if (((pos + 1) & (chunk_slots_ - 1)) == 0) {
      // The chunk is empty: its region goes back, warm, before its room is released.
      std::atomic<std::uint32_t>& entry = entries_[entry_index(pos)];
      const std::uint32_t r = entry.load(std::memory_order_relaxed) - 1;
      entry.store(0, std::memory_order_release);
      push(warm_, r);
    }
    // The room goes back in batches: bounds_ shares the producers' cache line, and writing it
    // on every pop would cost each record() a cache miss.
    unreleased_ += (std::uint64_t{1} << kCountShift) + weight;
    if ((unreleased_ >> kCountShift) >= release_batch_) release_room();
    return true;
  }

  // Consumer thread only: gives back the room of the items popped since the last time (done
  // every release_batch_ pops and whenever a pop finds the queue empty).
  void release_room() noexcept {
    if (unreleased_ == 0) return;
    bounds_.fetch_sub(unreleased_, std::memory_order_release);
    unreleased_ = 0;
  }

  // Consumer thread only: the item try_pop() would take next, or null.
  const T* peek() const noexcept {
    Slot* slot = consumer_slot(dequeue_pos_.load(std::memory_order_relaxed));
    return slot == nullptr ? nullptr : slot->item();
  }

  // Consumer thread only: whether try_pop() would find an item. Reads only the consumer's
  // side (its position, the chunk's entry and the slot), never the producers' hot counters.
  bool ready_to_pop() const noexcept { return consumer_slot(dequeue_pos_.load(std::memory_order_relaxed)) != nullptr; }

  // Consumer thread only: hands back the pages of the warm regions beyond the `keep_bytes`
  // most recently used. Meant for when the queue is idle: a push that meanwhile finds no warm
  // region takes a cold one.
  void trim(std::size_t keep_bytes) noexcept {
    const std::size_t keep = keep_bytes / chunk_bytes();
    trim_keep_.clear();  // reserved for every region: never allocates
    std::uint32_t r = 0;
    while (pop(warm_, r)) {
      if (trim_keep_.size() < keep) {
        trim_keep_.push_back(r);
        continue;
      }
      madvise(region(r), chunk_bytes(), MADV_DONTNEED);  // zero again: empty slots
      push(cold_, r);
    }
    for (auto it = trim_keep_.rbegin(); it != trim_keep_.rend(); ++it) push(warm_, *it);
  }

  std::size_t max_items() const noexcept { return max_items_; }
  std::uint64_t max_bytes() const noexcept { return max_bytes_; }
  // The reserved bytes of what is queued now (the sum of the queued items' weights).
  std::uint64_t queued_bytes() const noexcept { return bounds_.load(std::memory_order_relaxed) & kMaxBytes; }
  // The regions' memory, for tests and benchmarks that look at what of it is resident.
  const void* storage() const noexcept { return slots_; }
  std::size_t bytes() const noexcept { return regions_count_ * chunk_bytes(); }
  std::size_t chunk_bytes() const noexcept { return chunk_slots_ * sizeof(Slot); }
  static constexpr std::size_t slot_bytes() noexcept { return sizeof(Slot); }
  // Items ever taken positions for / taken by the consumer (monotonic counters).
  std::uint64_t pushed() const noexcept { return enqueue_pos_.load(std::memory_order_acquire); }
  std::uint64_t popped() const noexcept { return dequeue_pos_.load(std::memory_order_acquire); }
  std::size_t size() const noexcept {
    const std::uint64_t out = popped();
    const std::uint64_t in = pushed();
    return in > out ? static_cast<std::size_t>(in - out) : 0;
  }

 private:
  // An empty slot holds raw storage: a push move-constructs into it (cheaper than assigning
  // into a moved-from item) and a pop destroys what it moved from. A plain struct: zero bytes
  // are an empty slot. `full` is only ever accessed with the __atomic builtins.
  struct alignas(64) Slot {  // whole cache lines: neighbours never share one
    std::uint32_t full;      // 1 while it holds an item
    std::uint64_t weight;    // the item's bytes in the bounds
    alignas(T) unsigned char storage[sizeof(T)];
    T* item() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
  };

  // A stack of free regions: the top region's number + 1 (0: empty) in the low half, and a
  // count of changes in the high half, so that a pop whose view went stale fails its CAS.
  using Stack = std::atomic<std::uint64_t>;

  void push(Stack& stack, std::uint32_t r) noexcept {
    std::uint64_t head = stack.load(std::memory_order_relaxed);
    do {
      next_[r].store(static_cast<std::uint32_t>(head), std::memory_order_relaxed);
    } while (!stack.compare_exchange_weak(head, ((head >> 32) + 1) << 32 | (r + 1),
                                          std::memory_order_release, std::memory_order_relaxed));
  }
  bool pop(Stack& stack, std::uint32_t& r) noexcept {
    std::uint64_t head = stack.load(std::memory_order_acquire);
    for (;;) {
      const auto top = static_cast<std::uint32_t>(head);
      if (top == 0) return false;
      const std::uint32_t below = next_[top - 1].load(std::memory_order_relaxed);
      if (stack.compare_exchange_weak(head, ((head >> 32) + 1) << 32 | below, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        r = top - 1;
        return true;
      }
    }
  }

  // The region of the chunk with table entry `index`, installing a free one if it has none.
  Slot* chunk_for_push(std::size_t index) noexcept {
    std::atomic<std::uint32_t>& entry = entries_[index];
    for (;;) {
      std::uint32_t current = entry.load(std::memory_order_acquire);
      if (current != 0) return region(current - 1);
      std::uint32_t r = 0;
      if (!pop(warm_, r) && !pop(cold_, r)) {
        // Every region is in use or in transit between pushes that raced for an entry:
        // that lasts a few instructions.
        std::this_thread::yield();
        continue;
      }
      if (entry.compare_exchange_strong(current, r + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        return region(r);
      }
      push(warm_, r);  // another push installed one first: use it
      return region(current - 1);
    }
  }

  Slot* consumer_slot(std::size_t pos) const noexcept {
    const std::uint32_t entry = entries_[entry_index(pos)].load(std::memory_order_acquire);
    if (entry == 0) return nullptr;
    Slot* slot = &region(entry - 1)[pos & (chunk_slots_ - 1)];
    return __atomic_load_n(&slot->full, __ATOMIC_ACQUIRE) != 0 ? slot : nullptr;
  }

  // Chunks and the table are powers of two: positions map to them without a division.
  std::size_t entry_index(std::size_t pos) const noexcept { return (pos >> chunk_shift_) & (entries_count_ - 1); }

  Slot* region(std::uint32_t r) const noexcept { return slots_ + std::size_t{r} * chunk_slots_; }

  static Slot* map_slots(std::size_t count) {
    void* memory = mmap(nullptr, count * sizeof(Slot), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) throw std::bad_alloc();
#if defined(OPSMETER_RING_LSAN)
    __lsan_register_root_region(memory, count * sizeof(Slot));
#endif
    return static_cast<Slot*>(memory);  // page-aligned, zero: every slot empty
  }

  // The next push writes the next slot, whose lines were last written by the consumer (on
  // another core). Asking for them now takes that cache miss off the next caller's path:
  // callers are spaced apart, the prefetch completes in between. Only a hint.
  static void prefetch_for_write(const Slot& slot) noexcept {
#if defined(__GNUC__)
    const char* p = reinterpret_cast<const char*>(&slot);
    for (std::size_t offset = 0; offset < sizeof(Slot); offset += 64) __builtin_prefetch(p + offset, 1, 3);
#else
    (void)slot;
#endif
  }

  // At most about kChunkBytes of slots, a power of two of them, and a whole number of pages (so
  // that trim() hands back exactly one region): slots are whole cache lines, and
  // page / gcd(page, slot) of them, a power of two, fill whole pages.
  static std::size_t slots_per_chunk() noexcept {
    std::size_t a = page_size(), b = sizeof(Slot);
    while (b != 0) a = std::exchange(b, a % b);  // a = gcd(page, slot)
    std::size_t slots = page_size() / a;         // slots in the smallest whole-page run
    while (slots * 2 * sizeof(Slot) <= kChunkBytes) slots *= 2;
    return slots;
  }
  static std::size_t round_up_to_power_of_two(std::size_t n) noexcept {
    std::size_t p = 1;
    while (p < n) p *= 2;
    return p;
  }
  static unsigned log2(std::size_t power_of_two) noexcept {
    unsigned shift = 0;
    while ((std::size_t{1} << shift) < power_of_two) ++shift;
    return shift;
  }

  static std::size_t page_size() noexcept {
    static const std::size_t size = [] {
      const long value = sysconf(_SC_PAGESIZE);
      return value > 0 ? static_cast<std::size_t>(value) : std::size_t{4096};
    }();
    return size;
  }

  const std::size_t max_items_;
  const std::uint64_t max_bytes_;
  const std::size_t chunk_slots_;
  const unsigned chunk_shift_;
  const std::size_t entries_count_;
  const std::size_t regions_count_;
  const std::size_t release_batch_;
  const std::unique_ptr<std::atomic<std::uint32_t>[]> entries_;  // region + 1 per chunk; 0: none
  const std::unique_ptr<std::atomic<std::uint32_t>[]> next_;     // the free stacks' links
  Slot* const slots_;  // the fields above are read by every push: no written field shares their line
  // Producers' line: a push touches both, in that order.
  alignas(64) std::atomic<std::uint64_t> bounds_{0};
  std::atomic<std::size_t> enqueue_pos_{0};
  alignas(64) Stack warm_{0};
  alignas(64) Stack cold_{0};
  // The consumer's line.
  alignas(64) std::atomic<std::size_t> dequeue_pos_{0};
  std::uint64_t unreleased_ = 0;  // room popped, not yet given back (packed like bounds_)
  std::vector<std::uint32_t> trim_keep_;
};

}  // namespace opsmeter::detail
