// The names of the client's enums, as logs, stats and the CLI print them.
#include "opsmeter/client.hpp"

namespace opsmeter {

std::string_view to_string(DropReason reason) noexcept {
  switch (reason) {
    case DropReason::kQueueFull: return "queue_full";
    case DropReason::kPaused: return "paused";
    case DropReason::kInvalid: return "invalid";
    case DropReason::kDisabled: return "disabled";
    case DropReason::kRejected: return "rejected";
    case DropReason::kRetriesExhausted: return "retries_exhausted";
    case DropReason::kTooOld: return "too_old";
    case DropReason::kShutdown: return "shutdown";
    case DropReason::kInternal: return "internal";
    case DropReason::kDryRun: return "dry_run";
  }
  return "unknown";
}

std::string_view to_string(FlushResult result) noexcept {
  return result == FlushResult::kFlushed ? "flushed" : "timed_out";
}

}  // namespace opsmeter
