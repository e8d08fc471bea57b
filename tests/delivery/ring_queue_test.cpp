// The bounded queue: capacity is exact, full rejects without moving, and many producers lose
// nothing.
#include "delivery/ring_queue.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace opsmeter::detail {
namespace {

// How many pages of [begin, begin + bytes) are resident (mincore).
std::size_t resident_pages(const void* begin, std::size_t bytes) {
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> flags((bytes + page - 1) / page);
  if (mincore(const_cast<void*>(begin), bytes, flags.data()) != 0) return flags.size() + 1;  // an error: fail
  std::size_t n = 0;
  for (unsigned char f : flags) n += f & 1;
  return n;
}

// A queue that was never used holds none of its memory; a used one only the pages its items
// passed through.
TEST(RingQueue, MemoryBecomesResidentOnlyAsItemsPassThrough) {
  RingQueue<std::string> q(100000);
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t total = (q.bytes() + page - 1) / page;
  ASSERT_GT(total, 1000u);
  EXPECT_EQ(resident_pages(q.storage(), q.bytes()), 0u);
  std::string item = "x", out;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(q.try_push(item = "record " + std::to_string(i)));
    ASSERT_TRUE(q.try_pop(out));
    EXPECT_EQ(out, "record " + std::to_string(i));
  }
  const std::size_t used = resident_pages(q.storage(), q.bytes());
  EXPECT_GE(used, 1u);
  EXPECT_LE(used, (100 * 64 + page - 1) / page + 2);  // 100 slots of one cache line each
}

TEST(RingQueue, ExactCapacityAndFifo) {
  RingQueue<std::string> q(3);
  std::string a = "a", b = "b", c = "c", d = "d";
  EXPECT_TRUE(q.try_push(a));
  EXPECT_TRUE(q.try_push(b));
  EXPECT_TRUE(q.try_push(c));
  EXPECT_FALSE(q.try_push(d));
  EXPECT_EQ(d, "d");  // not moved from when rejected
  EXPECT_EQ(q.size(), 3u);
  std::string out;
  ASSERT_TRUE(q.try_pop(out));
  EXPECT_EQ(out, "a");
  EXPECT_TRUE(q.try_push(d));
  for (const char* expected : {"b", "c", "d"}) {
    ASSERT_TRUE(q.try_pop(out));
    EXPECT_EQ(out, expected);
  }
  EXPECT_FALSE(q.try_pop(out));
  EXPECT_EQ(q.pushed(), 4u);
  EXPECT_EQ(q.popped(), 4u);
}

TEST(RingQueue, PopDestroysTheSlotItemAndTheQueueDestroysWhatIsLeft) {
  auto tracked = std::make_shared<int>(7);
  {
    RingQueue<std::shared_ptr<int>> q(4);
    for (int i = 0; i < 3; ++i) {
      std::shared_ptr<int> copy = tracked;
      ASSERT_TRUE(q.try_emplace(std::move(copy)));
    }
    EXPECT_EQ(tracked.use_count(), 4);
    std::shared_ptr<int> out;
    ASSERT_TRUE(q.try_pop(out));
    out.reset();
    EXPECT_EQ(tracked.use_count(), 3);  // nothing left behind in the popped slot
    EXPECT_TRUE(q.ready_to_pop());
  }
  EXPECT_EQ(tracked.use_count(), 1);  // the two still queued were destroyed with the queue
}

TEST(RingQueue, ReadyToPopFollowsTheConsumerAcrossLaps) {
  RingQueue<int> q(2);
  int out = 0;
  EXPECT_FALSE(q.ready_to_pop());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(q.try_emplace(i));
    EXPECT_TRUE(q.ready_to_pop());
    ASSERT_TRUE(q.try_pop(out));
    EXPECT_EQ(out, i);
    EXPECT_FALSE(q.ready_to_pop());
  }
}

TEST(RingQueue, ManyProducersOneConsumerLoseNothing) {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 50000;
  RingQueue<std::uint64_t> q(1000);
  std::atomic<int> done{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        std::uint64_t value = static_cast<std::uint64_t>(p) << 32 | static_cast<std::uint64_t>(i);
        while (!q.try_push(value)) std::this_thread::yield();
      }
      done.fetch_add(1);
    });
  }
  // The consumer only counts while producers run; assertions come after they are joined, so a
  // failure is reported instead of ending the test with threads still running.
  constexpr std::uint64_t kTotal = static_cast<std::uint64_t>(kProducers) * kPerProducer;
  std::vector<int> next(kProducers, 0);
  std::uint64_t received = 0, out_of_order = 0, value = 0;
  std::string first_break;
  // Drain while producers run (they must never block on a full queue), then wait at most 60 s
  // for items still missing.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (done.load() < kProducers ||
         (received < kTotal && std::chrono::steady_clock::now() < deadline)) {
    if (!q.try_pop(value)) {
      std::this_thread::yield();
      continue;
    }
    ++received;
    const auto producer = static_cast<std::size_t>(value >> 32);
    const auto index = static_cast<int>(value & 0xffffffff);
    if (producer >= next.size() || index != next[producer]) {
      if (out_of_order++ == 0)
        first_break = "producer " + std::to_string(producer) + " item " + std::to_string(index);
      if (producer < next.size()) next[producer] = index + 1;
      continue;
    }
    ++next[producer];
  }
  for (auto& t : producers) t.join();
  EXPECT_EQ(received, kTotal);
  EXPECT_EQ(out_of_order, 0u) << "per-producer order broken first at " << first_break;
  EXPECT_EQ(done.load(), kProducers);
  EXPECT_FALSE(q.try_pop(value));
}

}  // namespace
}  // namespace opsmeter::detail
