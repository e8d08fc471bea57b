// The state shared by the three parties of a client: callers of record(), the worker, and
// readers of stats()/status(): the queue, the flags record() reads, and the counters, all
// lock-free. What else the readers see lives with its owner: the windows in the delivery
// gate, the last error and posture in the accounting.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <variant>

#include "base/clock.hpp"
#include "opsmeter/client.hpp"
#include "delivery/ring_queue.hpp"

namespace opsmeter::detail {

struct QueuedRecord {
  QueuedRecord() = default;
  QueuedRecord(LlmCallRecord&& r, TimePoint at) noexcept : record(std::move(r)), enqueued_at(at) {}

  LlmCallRecord record;
  TimePoint enqueued_at{};
};

// What a queued record holds in memory, for the queue's byte bound: its slot, plus each string
// kept on the heap (longer than the in-object buffer) with an allocator header, plus the
// metadata's extra entries. Reads sizes only: a few nanoseconds, no allocation.
inline std::uint64_t heap_bytes(const std::string& s) noexcept {
  // A string's buffer is inside the object while it is small (15 bytes in libstdc++, 22 in
  // libc++): then its data pointer points into the object.
  const auto* object = reinterpret_cast<const char*>(&s);
  const char* data = s.data();
  const bool inline_buffer = data >= object && data < object + sizeof(s);
  return inline_buffer ? 0 : s.capacity() + 1 + 16;
}
inline std::uint64_t queued_bytes(const LlmCallRecord& r, std::size_t slot_bytes) noexcept {
  std::uint64_t bytes = slot_bytes;
  for (const std::string* s : {&r.external_request_id, &r.provider, &r.model, &r.prompt_version,
                               &r.endpoint_tag, &r.metadata.operation, &r.metadata.tenant_id,
                               &r.metadata.endpoint, &r.metadata.feature,
                               &r.metadata.provider_request_id, &r.metadata.trace_id,
                               &r.metadata.span_id}) {
    bytes += heap_bytes(*s);
  }
  if (r.error_code) bytes += heap_bytes(*r.error_code);
  if (r.user_id) bytes += heap_bytes(*r.user_id);
  const auto& extra = r.metadata.extra;
  if (extra.capacity() != 0) bytes += extra.capacity() * sizeof(extra[0]) + 16;
  for (const auto& [key, value] : extra) {
    bytes += heap_bytes(key);
    if (const auto* text = std::get_if<std::string>(&value)) bytes += heap_bytes(*text);
  }
  return bytes;
}

// What record() reads on every call, on a cache line of its own so that the worker's counter
// updates do not evict it from the callers' caches. Each flag has one writer.
struct AdmissionFlags {
  // The end of a 402 pause (steady-clock ns): written by the delivery gate only.
  std::atomic<std::int64_t> paused_until_ns{0};
  // A one-way latch: whatever stops the client (shutdown, a callback, exit(), a client that
  // never started) closes it, and nothing opens it again.
  std::atomic<bool> accepting{true};
  // The worker's idle/wake protocol (worker.hpp): the worker sets them; record() only takes one
  // back (exchange to false) to claim the one wake-up.
  std::atomic<bool> worker_idle{false};   // the worker idles and wants records
  std::atomic<bool> worker_asleep{false};  // idle for a second, it sleeps on its timers
  void stop_accepting() noexcept { accepting.store(false, std::memory_order_seq_cst); }
  bool open() const noexcept { return accepting.load(std::memory_order_seq_cst); }
};

struct SharedState {
  explicit SharedState(std::size_t max_records,
                       std::uint64_t max_bytes = RingQueue<QueuedRecord>::kMaxBytes)
      : queue(max_records, max_bytes) {}

  void count_drop(DropReason reason) noexcept {
    dropped[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t dropped_total() const noexcept {
    std::uint64_t total = 0;
    for (const auto& d : dropped) total += d.load(std::memory_order_relaxed);
    return total;
  }

  RingQueue<QueuedRecord> queue;

  alignas(64) AdmissionFlags admission;

  // The counters and gauges: the accounting writes them (record()'s own drops and field
  // errors excepted, which the admission counts); stats() reads them.
  alignas(64) std::array<std::atomic<std::uint64_t>, kDropReasonCount> dropped{};
  std::atomic<std::uint64_t> dropped_at_record{0};  // the part of `dropped` counted by record()
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> finished{0};  // records taken from the queue or spool that reached an end
  std::atomic<std::uint64_t> spooled{0};
  std::atomic<std::uint64_t> unspooled{0};
  std::atomic<std::uint64_t> spool_dropped{0};
  std::atomic<std::uint64_t> in_flight{0};
  std::atomic<std::uint64_t> retry_waiting{0};
  std::atomic<std::uint64_t> retried{0};
  std::atomic<std::uint64_t> throttled{0};
  std::atomic<std::uint64_t> requests_sent{0};
  std::atomic<std::uint64_t> bytes_sent{0};
  std::atomic<std::uint64_t> callback_errors{0};
  std::atomic<const char*> last_invalid{nullptr};  // JSON name of the last invalid field (static)
  std::atomic<std::uint64_t> names_cut{0};  // provider/model names record() cut to their cap
  // Whether the ingest API is unreachable, for flush waiters: written by the delivery gate only.
  std::atomic<bool> unreachable{false};
  // Published by the accounting at the end of each worker step, for stats(): when the oldest record still pending was recorded
  // (steady-clock ns; 0: nothing pending) and the wall time of the last delivery (ms since the
  // epoch; 0: none yet).
  std::atomic<std::int64_t> oldest_pending_ns{0};
  std::atomic<std::int64_t> last_delivered_wall_ms{0};
};

}  // namespace opsmeter::detail
