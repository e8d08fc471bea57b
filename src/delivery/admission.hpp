// record()'s path into the queue, on the caller's thread: names cut to their caps, validation,
// the pause flag, the queue's two bounds, and the worker's wake-up. No lock, no allocation, no
// system call in the common case; every drop is counted.
#pragma once

#include "delivery/shared_state.hpp"
#include "instrument/record_sink.hpp"
#include "opsmeter/client.hpp"
#include "transport/transport.hpp"

namespace opsmeter::detail {

class Admission {
 public:
  explicit Admission(SharedState& shared) noexcept : shared_(shared) {}

  // The transport whose wakeup() rouses the worker; none while the client is disabled.
  void set_transport(Transport* transport) noexcept { transport_ = transport; }

  // Queues `record` (kQueued) or says why not, leaving the caller's record untouched.
  RecordResult admit(LlmCallRecord&& record) noexcept;
  // Counts a record dropped before it reached the queue.
  RecordResult drop(DropReason reason) noexcept;

 private:
  void cut_to_cap(std::string& name, std::size_t cap) noexcept;

  SharedState& shared_;
  Transport* transport_ = nullptr;
};

}  // namespace opsmeter::detail
