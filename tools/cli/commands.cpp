// opsmeter status, validate and send.
#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "cli.hpp"
#include "opsmeter/validation.hpp"
#include "wire_record.hpp"

namespace opsmeter::cli {
namespace {



struct BadLine {
  std::size_t line = 0;  // 1-based
  LineError error;
};

// The records of the input, with the lines that are not records. Blank lines are skipped; a
// repeated externalRequestId is a bad line (the API keeps one row per id).
struct Batch {
  std::size_t records = 0;  // non-blank lines
  std::vector<LlmCallRecord> valid;
  std::vector<BadLine> bad;
};

bool blank(const std::string& line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t'; });
}

Batch read_batch(const std::vector<std::string>& lines) {
  Batch batch;
  std::unordered_map<std::string, std::size_t> first_line;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (blank(lines[i])) continue;
    ++batch.records;
    LineError error;
    std::optional<LlmCallRecord> record = read_record_line(lines[i], error);
    if (record) {
      const auto [it, fresh] = first_line.emplace(record->external_request_id, i + 1);
      if (!fresh) {
        error = {"duplicate_id", "externalRequestId",
                 "externalRequestId " + record->external_request_id + " already appeared on line " +
                     std::to_string(it->second)};
        record.reset();
      }
    }
    if (record) {
      batch.valid.push_back(std::move(*record));
    } else {
      batch.bad.push_back({i + 1, std::move(error)});
    }
  }
  return batch;
}

Json bad_lines_json(const Batch& batch) {
  Json out = Json::array();
  for (const BadLine& b : batch.bad) {
    out.push_back({{"line", b.line}, {"code", b.error.code}, {"field", b.error.field}, {"message", b.error.message}});
  }
  return out;
}

void print_bad_lines(const Batch& batch, std::ostream& out) {
  for (const BadLine& b : batch.bad) out << "line " << b.line << ": " << b.error.code << ": " << b.error.message << "\n";
}

// Reads the input or says why it cannot; nullopt means exit with kExitUsage.
std::optional<Batch> load(const Settings& settings, const char* command) {
  std::vector<std::string> lines;
  std::string error;
  if (!read_lines(settings.input, lines, error)) {
    std::fprintf(stderr, "opsmeter %s: %s\n", command, error.c_str());
    return std::nullopt;
  }
  return read_batch(lines);
}

std::string money(double value) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(2) << value;
  return out.str();
}

void print_period(std::ostream& out, const char* name, const std::optional<BudgetPeriod>& p) {
  if (!p) return;
  out << "budget      " << name << " ";
  if (p->current_spend_usd) out << money(*p->current_spend_usd);
  if (p->limit_usd) out << " of " << money(*p->limit_usd);
  out << " USD";
  if (p->is_exceeded.value_or(false)) {
    out << ", exceeded";
  } else if (p->is_warning.value_or(false)) {
    out << ", warning";
  }
  out << "\n";
}

}  // namespace

int status(const Settings& settings, std::ostream& out) {
  const CheckResult r = check_workspace(settings.options, settings.timeout);
  const bool paused = r.status && (r.status->telemetry_paused.value_or(false) ||
                                   r.status->is_plan_limit_reached.value_or(false));
  const int exit_code = !r.ok() ? kExitFailed : paused ? kExitPaused : kExitOk;
  if (settings.json) {
    Json doc = {{"command", "status"}, {"ok", r.ok()}, {"baseUrl", display_url(settings.options.base_url)}};
    if (r.ok()) {
      doc["workspace"] = to_json(*r.status);
    } else {
      doc["error"] = std::string(to_string(r.error));
      doc["httpStatus"] = r.http_status;
      doc["detail"] = r.detail;
    }
    doc["log"] = settings.log->lines();
    out << dump(doc) << "\n";
    return exit_code;
  }
  if (!r.ok()) {
    out << "opsmeter status: " << to_string(r.error);
    if (r.http_status != 0) out << " (HTTP " << r.http_status << ")";
    out << ": " << r.detail << "\n";
    return exit_code;
  }
  const WorkspaceStatus& s = *r.status;
  out << "workspace   " << s.workspace_id.value_or("?") << " at " << display_url(settings.options.base_url) << "\n";
  out << "plan        " << s.plan_tier.value_or("?");
  if (s.plan_name) out << " (" << *s.plan_name << ")";
  if (s.current_request_count) {
    out << ", requests " << *s.current_request_count;
    if (s.plan_request_limit) out << " of " << *s.plan_request_limit;
  }
  if (s.remaining_request_count) out << ", " << *s.remaining_request_count << " left";
  out << "\n";
  out << "severity    " << s.severity.value_or("?") << "\n";
  out << "telemetry   " << (paused ? "paused (plan limit reached; provider calls continue)" : "accepted") << "\n";
  print_period(out, "daily", s.daily);
  print_period(out, "monthly", s.monthly);
  return exit_code;
}

int validate(const Settings& settings, std::ostream& out) {
  const std::optional<Batch> batch = load(settings, "validate");
  if (!batch) return kExitUsage;
  const bool ok = batch->bad.empty();
  if (settings.json) {
    const Json doc = {{"command", "validate"}, {"ok", ok},
                      {"records", batch->records}, {"valid", batch->valid.size()},
                      {"invalid", batch->bad.size()}, {"errors", bad_lines_json(*batch)}};
    out << dump(doc) << "\n";
  } else {
    print_bad_lines(*batch, out);
    out << batch->records << " records: " << batch->valid.size() << " valid, " << batch->bad.size() << " invalid\n";
  }
  return ok ? kExitOk : kExitFailed;
}

// The records of this run, told apart from spooled records of earlier runs that the client
// may deliver too: the exit status is about this run's records only.
struct OwnRecords {
  std::mutex mu;
  std::unordered_set<std::string> ids;
  std::uint64_t delivered = 0;
};

int send(const Settings& settings, std::ostream& out) {
  std::optional<Batch> batch = load(settings, "send");
  if (!batch) return kExitUsage;
  constexpr std::size_t kMaxQueue = 1000000;
  Options options = settings.options;
  options.queue.capacity = std::clamp<std::size_t>(batch->valid.size(), 10000, kMaxQueue);
  // The records are in memory already: they move into the queue, so its byte bound would only
  // refuse some of them.
  options.queue.max_bytes = std::size_t{16} << 30;
  auto own = std::make_shared<OwnRecords>();
  for (const LlmCallRecord& r : batch->valid) own->ids.insert(r.external_request_id);
  options.on_result = [own](const DeliveryReport& report) {
    if (!report.delivered) return;
    std::lock_guard<std::mutex> lock(own->mu);
    if (own->ids.count(std::string(report.external_request_id)) != 0) ++own->delivered;
  };
  Client client(options);
  const ClientStatus state = client.status();
  const auto deadline = std::chrono::steady_clock::now() + settings.timeout;
  std::string unreachable;  // why the API cannot be reached, once the client knows
  // Waits for what was recorded to be delivered; stops early once the API is known to be
  // unreachable (refused, DNS, TLS): waiting would only hold the records until the deadline.
  const auto drain = [&]() {
    for (;;) {
      if (client.flush(std::chrono::milliseconds(100)) == FlushResult::kFlushed) return true;
      const ClientStatus now = client.status();
      if (now.unreachable) {
        unreachable = now.unreachable_reason.empty() ? "no connection" : now.unreachable_reason;
        return false;
      }
      if (std::chrono::steady_clock::now() >= deadline) return false;
    }
  };
  bool finished = true;
  std::size_t chunk_start = 0;
  for (std::size_t i = 0; i < batch->valid.size() && unreachable.empty(); ++i) {
    if (i - chunk_start == kMaxQueue) {  // more records than the queue holds: a chunk at a time
      finished = drain() && finished;
      chunk_start = i;
      if (!unreachable.empty()) break;
    }
    client.record(std::move(batch->valid[i]));
  }
  if (unreachable.empty()) finished = drain() && finished;
  client.shutdown(std::chrono::milliseconds(1000));
  const Stats stats = client.stats();
  std::uint64_t delivered = 0;
  {
    std::lock_guard<std::mutex> lock(own->mu);
    delivered = own->delivered;
  }
  const std::uint64_t others = stats.delivered > delivered ? stats.delivered - delivered : 0;

  const bool ok = state.enabled && batch->bad.empty() && delivered == batch->valid.size();
  Json dropped = Json::object();
  for (std::size_t r = 0; r < kDropReasonCount; ++r) {
    if (stats.dropped_by_reason[r] != 0) {
      dropped[std::string(to_string(static_cast<DropReason>(r)))] = stats.dropped_by_reason[r];
    }
  }
  Json rejected = Json::object();
  for (const auto& [code, count] : stats.rejected_by_status) rejected[std::to_string(code)] = count;
  if (settings.json) {
    Json doc = {{"command", "send"}, {"ok", ok}, {"baseUrl", display_url(options.base_url)},
                {"records", batch->records}, {"valid", batch->valid.size()},
                {"invalid", batch->bad.size()}, {"errors", bad_lines_json(*batch)},
                {"delivered", delivered}, {"deliveredFromSpool", others}, {"dropped", dropped},
                {"rejectedByStatus", rejected}, {"finished", finished},
                {"requestsSent", stats.requests_sent}, {"retried", stats.retried},
                {"lastError", stats.last_error}, {"log", settings.log->lines()}};
    if (!unreachable.empty()) doc["unreachable"] = unreachable;
    if (!state.enabled) doc["disabledReason"] = state.disabled_reason;
    out << dump(doc) << "\n";
    return ok ? kExitOk : kExitFailed;
  }
  print_bad_lines(*batch, out);
  if (!state.enabled) {
    out << "opsmeter send: not sending, the client is disabled: " << escape_text(state.disabled_reason) << "\n";
    return kExitFailed;
  }
  if (!unreachable.empty()) {
    out << "opsmeter send: the ingest API is unreachable: " << escape_text(unreachable) << "\n";
  }
  out << batch->records << " records (" << batch->bad.size() << " invalid): " << delivered
      << " delivered, " << (batch->valid.size() - delivered) << " not delivered\n";
  for (const auto& [reason, count] : dropped.items()) out << "  dropped " << reason << ": " << count << "\n";
  for (const auto& [code, count] : rejected.items()) out << "  rejected with HTTP " << code << ": " << count << "\n";
  if (others != 0) out << "  also delivered: " << others << " records spooled earlier (by this or another process)\n";
  if (!finished && unreachable.empty()) {
    out << "  delivery did not finish within " << settings.timeout.count() << " ms\n";
  }
  if (!ok && !stats.last_error.empty()) out << "  last error: " << escape_text(stats.last_error) << "\n";
  return ok ? kExitOk : kExitFailed;
}

}  // namespace opsmeter::cli
