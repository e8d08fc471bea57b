// The fork generation and the exit hook (see process_hooks.hpp).
#include "delivery/process_hooks.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <vector>

namespace opsmeter::detail {
namespace {

// Bumped in a child process by fork().
std::atomic<std::uint64_t> g_fork_generation{0};

void on_fork_child() { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }

std::mutex g_live_mu;
std::vector<std::weak_ptr<LiveWorker>> g_live;

void stop_live_workers_at_exit() noexcept {
  std::vector<std::shared_ptr<LiveWorker>> live;
  try {
    std::lock_guard<std::mutex> lock(g_live_mu);
    for (const auto& weak : g_live) {
      if (auto worker = weak.lock()) live.push_back(std::move(worker));
    }
  } catch (...) {
    return;
  }
  // One deadline for all: exit() must not wait long for a worker stuck in a user callback.
  const TimePoint deadline = Clock::now() + Millis(500);
  for (const auto& worker : live) worker->stop_for_exit(deadline);
}

}  // namespace

std::uint64_t fork_generation() noexcept {
  static const bool installed = pthread_atfork(nullptr, nullptr, &on_fork_child) == 0;
  (void)installed;
  return g_fork_generation.load(std::memory_order_relaxed);
}

void remember_live(std::weak_ptr<LiveWorker> worker) {
  static const bool hooked = std::atexit(&stop_live_workers_at_exit) == 0;
  (void)hooked;
  std::lock_guard<std::mutex> lock(g_live_mu);
  g_live.erase(std::remove_if(g_live.begin(), g_live.end(), [](const auto& w) { return w.expired(); }),
               g_live.end());
  g_live.push_back(std::move(worker));
}

}  // namespace opsmeter::detail
