// record()'s path into the queue (see admission.hpp).
#include "delivery/admission.hpp"

#include "base/text.hpp"
#include "delivery/worker.hpp"
#include "opsmeter/validation.hpp"

namespace opsmeter::detail {

RecordResult Admission::admit(LlmCallRecord&& record) noexcept {
  if (!shared_.admission.open()) return drop(DropReason::kShutdown);
  // An overlong name would make the whole call invalid and its spend invisible: cut it.
  cut_to_cap(record.provider, limits::kMaxProviderBytes);
  cut_to_cap(record.model, limits::kMaxModelBytes);
  const ValidationError error = validate(record);
  if (!error.ok()) {
    shared_.last_invalid.store(error.field.data(), std::memory_order_relaxed);
    RecordResult result = drop(DropReason::kInvalid);
    result.outcome = RecordResult::Outcome::kInvalid;
    result.validation = error;
    return result;
  }
  // The coarse clock trails the steady clock by up to a tick: when it says "still paused",
  // the steady clock confirms, so a pause ends exactly at status().paused_until.
  const TimePoint now = coarse_now();
  const std::int64_t paused_until = shared_.admission.paused_until_ns.load(std::memory_order_acquire);
  if (to_ns(now) < paused_until && to_ns(Clock::now()) < paused_until) return drop(DropReason::kPaused);
  const std::uint64_t bytes = queued_bytes(record, shared_.queue.slot_bytes());
  if (!shared_.queue.try_emplace_weighted(bytes, std::move(record), now)) {
    return drop(DropReason::kQueueFull);  // the caller's record is untouched
  }
  // No system call per record in steady traffic: an idle worker wakes by itself within its
  // idle wait, and is woken early only once a batch has built up; a sleeping one by the first.
  if (transport_ != nullptr) Worker::wake_for(shared_, *transport_);
  return RecordResult{};
}

void Admission::cut_to_cap(std::string& name, std::size_t cap) noexcept {
  if (name.size() <= cap) return;
  name.resize(utf8_prefix(name, cap).size());  // shrinks: never allocates
  shared_.names_cut.fetch_add(1, std::memory_order_relaxed);
}

RecordResult Admission::drop(DropReason reason) noexcept {
  shared_.count_drop(reason);
  shared_.dropped_at_record.fetch_add(1, std::memory_order_relaxed);
  return dropped_result(reason);
}

}  // namespace opsmeter::detail
