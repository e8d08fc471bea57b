// The bounded queue: capacity is exact, full rejects without moving, and many producers lose
// nothing.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "delivery/ring_queue.hpp"

namespace opsmeter::detail {
namespace {

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
  std::vector<int> next(kProducers, 0);
  std::uint64_t received = 0, value = 0;
  while (received < static_cast<std::uint64_t>(kProducers) * kPerProducer) {
    if (!q.try_pop(value)) {
      std::this_thread::yield();
      continue;
    }
    const auto producer = static_cast<int>(value >> 32);
    const auto index = static_cast<int>(value & 0xffffffff);
    ASSERT_EQ(index, next[producer]) << "per-producer order broken";
    ++next[producer];
    ++received;
  }
  for (auto& t : producers) t.join();
  EXPECT_EQ(done.load(), kProducers);
  EXPECT_FALSE(q.try_pop(value));
}

}  // namespace
}  // namespace opsmeter::detail
