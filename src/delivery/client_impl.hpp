// Client::Impl: what a Client is made of (admission, accounting, gate, transport, spool,
// dispatcher, worker, flush waiter). client.cpp composes it and answers the public calls;
// client_lifecycle.cpp holds its lifecycle (flush, shutdown, exit, fork). Shared between the
// Client and its worker thread, so that a callback may destroy the Client: the worker then
// finishes on its own and the last of the two releases the Impl.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/log.hpp"
#include "delivery/accounting.hpp"
#include "delivery/admission.hpp"
#include "delivery/dispatcher.hpp"
#include "delivery/flush_waiter.hpp"
#include "delivery/gate.hpp"
#include "delivery/options.hpp"
#include "delivery/process_hooks.hpp"
#include "delivery/shared_state.hpp"
#include "delivery/spool.hpp"
#include "delivery/worker.hpp"
#include "instrument/record_sink.hpp"
#include "opsmeter/check.hpp"
#include "opsmeter/client.hpp"

namespace opsmeter {

// Hidden even in a shared build: nothing outside the library names it.
class OPSMETER_LOCAL Client::Impl final : public detail::RecordSink,
                                          public detail::LiveWorker,
                                          public std::enable_shared_from_this<Client::Impl> {
 public:
  Impl(Options options, const detail::InternalOptions& internal);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // Starts the worker, which holds the Impl alive until it returns. May throw (no thread).
  void start();

  // The client that answers in this process: this one, or after fork() the child's fresh one
  // (made on the first call; the records the parent had queued or in flight stay the parent's,
  // and the parent's state is left untouched and never freed here). When the fresh one cannot
  // be made, this one answers as a client that sends nothing (orphaned()).
  Impl& live() const noexcept;

  // Also a scope's sink: a scope started before fork() and ended after it records in the child.
  RecordResult record(LlmCallRecord&& record) noexcept override;
  void metadata_left_out(std::string_view key, std::string_view why) noexcept override;
  // What ~Client and move-assignment do: the worker may hold the Impl beyond the Client.
  void close() noexcept;
  FlushResult flush(detail::Millis timeout) noexcept;
  FlushResult shutdown(detail::Millis timeout) noexcept;
  CheckResult check(detail::Millis timeout) const noexcept;
  Stats stats() const noexcept;
  ClientStatus status() const noexcept;

  // At exit() with this client still live (leaked, or on main's stack).
  void stop_for_exit(detail::TimePoint deadline) noexcept override;

 private:
  bool forked() const noexcept { return detail::fork_generation() != generation_; }
  // Forked, but the child's fresh client could not be made: nothing may touch the parent's
  // worker or connections, so this one behaves as a disabled client.
  bool orphaned() const noexcept { return forked() && successor_raw_.load(std::memory_order_acquire) == nullptr; }
  bool on_worker() const noexcept { return worker_ && worker_->on_worker(); }
  Impl* start_successor() noexcept;
  // In a child: the parent's sockets closed without a byte, its spool files let go of.
  void abandon_parents_state() noexcept;
  FlushResult flush_until(detail::TimePoint deadline, bool until_unreachable) noexcept;

  const std::uint64_t generation_;  // the fork generation this Impl was made in
  const detail::InternalOptions internal_;
  std::mutex fork_mu_;  // taken only in a forked child, by start_successor()
  std::shared_ptr<Impl> successor_;
  std::atomic<Impl*> successor_raw_{nullptr};
  detail::Config config_;
  detail::Logger logger_;
  detail::SharedState shared_;
  detail::Admission admission_;
  detail::FlushWaiter flushers_;
  detail::Accounting accounting_;
  detail::DeliveryGate gate_;
  std::string disabled_reason_;
  std::atomic<std::uint32_t> metadata_left_out_{0};  // lines logged, bounded
  std::unique_ptr<detail::Transport> transport_;
  std::unique_ptr<detail::Spool> spool_;  // worker only, through the dispatcher (report() excepted)
  std::string spool_refused_;
  std::optional<detail::Dispatcher> dispatcher_;
  std::optional<detail::Worker> worker_;

  std::mutex shutdown_mu_;
  bool shut_down_ = false;
  FlushResult shutdown_result_ = FlushResult::kFlushed;
};

}  // namespace opsmeter
