// The bounded queue: both bounds are exact, full rejects without moving, memory follows what is
// queued (taken as items arrive, handed back as they leave), and many producers lose nothing.
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

// A queue that was never used holds none of its memory; a steady flow only a chunk or two,
// reused; a backlog its own size, which trim() gives back beyond the warm reserve it is asked to
// keep.
TEST(RingQueue, MemoryFollowsWhatIsQueued) {
  RingQueue<std::string> q(100000);
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t chunk_pages = q.chunk_bytes() / page;
  ASSERT_EQ(q.chunk_bytes() % page, 0u);
  ASSERT_GT(q.bytes() / page, 1000u);
  EXPECT_EQ(resident_pages(q.storage(), q.bytes()), 0u);

  // A steady flow, one item at a time, laps through the same warm chunks.
  std::string item = "x", out;
  for (int i = 0; i < 20000; ++i) {
    ASSERT_TRUE(q.try_push(item = "record " + std::to_string(i)));
    ASSERT_TRUE(q.try_pop(out));
    ASSERT_EQ(out, "record " + std::to_string(i));
  }
  const std::size_t steady = resident_pages(q.storage(), q.bytes());
  EXPECT_GE(steady, 1u);
  EXPECT_LE(steady, 2 * chunk_pages);

  // A backlog of 50,000 takes its pages (64 bytes a slot)...
  constexpr int kBacklog = 50000;
  for (int i = 0; i < kBacklog; ++i) ASSERT_TRUE(q.try_push(item = "r"));
  const std::size_t backlog_pages = resident_pages(q.storage(), q.bytes());
  EXPECT_GE(backlog_pages, std::size_t{kBacklog} * 64 / page);
  for (int i = 0; i < kBacklog; ++i) ASSERT_TRUE(q.try_pop(out));
  // ...keeps them warm once drained, for the next burst...
  EXPECT_GE(resident_pages(q.storage(), q.bytes()), backlog_pages - chunk_pages);
  // ...and trim() gives back all but the reserve asked for, and the chunk that the next push
  // writes (still in the table, not free).
  q.trim(4 * q.chunk_bytes());
  EXPECT_LE(resident_pages(q.storage(), q.bytes()), 5 * chunk_pages);
  q.trim(0);
  EXPECT_LE(resident_pages(q.storage(), q.bytes()), chunk_pages);
  // The slots are empty again and work as before.
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE(q.try_push(item = "after " + std::to_string(i)));
    ASSERT_TRUE(q.try_pop(out));
    ASSERT_EQ(out, "after " + std::to_string(i));
  }
}

TEST(RingQueue, ByteBoundRejectsWhatDoesNotFit) {
  RingQueue<std::string> q(100, 1000);
  std::string a = "a", b = "b", c = "c", big = "big";
  EXPECT_FALSE(q.try_push(big, 1001));  // larger than the whole bound
  EXPECT_EQ(big, "big");
  EXPECT_TRUE(q.try_push(a, 400));
  EXPECT_TRUE(q.try_push(b, 400));
  EXPECT_EQ(q.queued_bytes(), 800u);
  EXPECT_FALSE(q.try_push(c, 300));  // 1,100 > 1,000
  EXPECT_EQ(c, "c");                 // not moved from when rejected
  EXPECT_TRUE(q.try_push(c, 200));   // exactly 1,000 fits
  std::string out;
  ASSERT_TRUE(q.try_pop(out));
  EXPECT_EQ(out, "a");
  EXPECT_EQ(q.queued_bytes(), 600u);
  std::string d = "d";
  EXPECT_TRUE(q.try_push(d, 400));
  EXPECT_EQ(q.size(), 3u);
}

// A large queue gives room back in batches (a shared cache line written once per batch, not per
// pop), and whenever a pop finds it empty.
TEST(RingQueue, LargeQueueGivesRoomBackInBatches) {
  RingQueue<int> q(100000, 100000);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(q.try_emplace_weighted(10, i));
  EXPECT_EQ(q.queued_bytes(), 400u);
  int out = 0;
  for (int i = 0; i < 31; ++i) ASSERT_TRUE(q.try_pop(out));
  EXPECT_EQ(q.queued_bytes(), 400u);
  ASSERT_TRUE(q.try_pop(out));  // the 32nd
  EXPECT_EQ(q.queued_bytes(), 80u);
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(q.try_pop(out));
  EXPECT_EQ(q.queued_bytes(), 80u);
  EXPECT_FALSE(q.try_pop(out));
  EXPECT_EQ(q.queued_bytes(), 0u);
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
  EXPECT_TRUE(q.try_push(d));  // a small queue gives room back at every pop
  for (const char* expected : {"b", "c", "d"}) {
    ASSERT_TRUE(q.try_pop(out));
    EXPECT_EQ(out, expected);
  }
  EXPECT_FALSE(q.try_pop(out));  // finding the queue empty gives back all the room
  EXPECT_EQ(q.pushed(), 4u);
  EXPECT_EQ(q.popped(), 4u);
  for (std::string* s : {&a, &b, &c}) EXPECT_TRUE(q.try_push(*s = "again"));
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
  // Many laps of the ring, across chunks that are handed back and touched again.
  for (int i = 0; i < 20000; ++i) {
    ASSERT_TRUE(q.try_emplace(i));
    EXPECT_TRUE(q.ready_to_pop());
    ASSERT_TRUE(q.try_pop(out));
    EXPECT_EQ(out, i);
    EXPECT_FALSE(q.ready_to_pop());
  }
}

// Bounded by count (1,000 items, room given back at every pop) or by bytes (600 items of 10
// bytes in a queue of 100,000, room given back in batches), the bound holds and nothing is lost
// or reordered while the ring laps many times.
class RingQueueProducers : public ::testing::TestWithParam<bool> {};

TEST_P(RingQueueProducers, ManyProducersOneConsumerLoseNothing) {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 50000;
  const bool by_bytes = GetParam();
  constexpr std::uint64_t kWeight = 10;
  RingQueue<std::uint64_t> q(by_bytes ? 100000 : 1000,
                             by_bytes ? 600 * kWeight : RingQueue<std::uint64_t>::kMaxBytes);
  std::uint64_t over_bound = 0;
  std::atomic<int> done{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        std::uint64_t value = static_cast<std::uint64_t>(p) << 32 | static_cast<std::uint64_t>(i);
        while (!q.try_push(value, kWeight)) std::this_thread::yield();
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
    const std::size_t size = q.size();
    if (size > (by_bytes ? 600u : 1000u) + kProducers) ++over_bound;  // a push between the reads
    if (q.queued_bytes() > (by_bytes ? 600 : 1000) * kWeight) ++over_bound;
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
  EXPECT_EQ(over_bound, 0u);
  EXPECT_EQ(q.queued_bytes(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Bounds, RingQueueProducers, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "ByBytes" : "ByCount"; });

}  // namespace
}  // namespace opsmeter::detail
