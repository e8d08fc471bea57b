// What a client needs from the process: the fork generation (a client made before fork()
// starts afresh in the child, see Client::Impl::live()) and the exit hook that stops live
// workers before libcurl's and OpenSSL's exit-time cleanup.
#pragma once

#include <cstdint>
#include <memory>

#include "base/clock.hpp"

namespace opsmeter::detail {

// The number of fork()s this process is a child of (as far as the SDK saw them): a client
// compares the generation it was made in with this one.
std::uint64_t fork_generation() noexcept;

// A client with a worker, as the exit hook sees it.
class LiveWorker {
 public:
  // Stops the worker and waits (until `deadline`) for it to leave libcurl and OpenSSL.
  virtual void stop_for_exit(TimePoint deadline) noexcept = 0;

 protected:
  ~LiveWorker() = default;
};

// Registers a started client with the exit hook (installed on the first call, after the first
// client initialized libcurl and OpenSSL, so that exit() runs it before their exit-time
// cleanup: atexit handlers run in reverse order, library destructors after them all). May
// throw std::bad_alloc.
void remember_live(std::weak_ptr<LiveWorker> worker);

}  // namespace opsmeter::detail
