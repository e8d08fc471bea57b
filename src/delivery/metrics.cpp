// The Prometheus text exposition of stats() and status() (opsmeter/metrics.hpp).
#include "opsmeter/metrics.hpp"

#include <charconv>
#include <chrono>

namespace opsmeter {
namespace {

class Exposition {
 public:
  explicit Exposition(std::string_view labels) : labels_(labels) {}

  void family(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  // One sample; `label` (name="value", already escaped) is joined with the caller's labels.
  void sample(const char* name, std::uint64_t value, std::string_view label = {}) {
    begin(name, label);
    out_ += std::to_string(value);
    out_ += '\n';
  }
  void sample(const char* name, double value, std::string_view label = {}) {
    begin(name, label);
    char buffer[32];
    const auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
    out_.append(buffer, error == std::errc() ? end : buffer);
    out_ += '\n';
  }

  void counter(const char* name, const char* help, std::uint64_t value) {
    family(name, "counter", help);
    sample(name, value);
  }
  void gauge(const char* name, const char* help, double value) {
    family(name, "gauge", help);
    sample(name, value);
  }

  std::string take() { return std::move(out_); }

 private:
  void begin(const char* name, std::string_view label) {
    out_ += name;
    if (!label.empty() || !labels_.empty()) {
      out_ += '{';
      out_ += labels_;
      if (!label.empty() && !labels_.empty()) out_ += ',';
      out_ += label;
      out_ += '}';
    }
    out_ += ' ';
  }

  std::string_view labels_;
  std::string out_;
};

double seconds_since_epoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

std::string to_prometheus_text(const Stats& s, const ClientStatus& st, std::string_view labels) noexcept {
  try {
    Exposition e(labels);
    e.counter("opsmeter_records_recorded_total", "Calls to record(), including those dropped at once.", s.recorded);
    e.counter("opsmeter_records_delivered_total", "Records the ingest API accepted.", s.delivered);
    e.family("opsmeter_records_dropped_total", "counter", "Records that will never be delivered, by reason.");
    for (std::size_t i = 0; i < kDropReasonCount; ++i) {
      const std::string label = "reason=\"" + std::string(to_string(static_cast<DropReason>(i))) + "\"";
      e.sample("opsmeter_records_dropped_total", s.dropped_by_reason[i], label);
    }
    e.family("opsmeter_records_rejected_total", "counter",
             "Records the ingest API refused with a permanent 4xx, by HTTP status.");
    for (const auto& [status, count] : s.rejected_by_status) {
      e.sample("opsmeter_records_rejected_total", count, "status=\"" + std::to_string(status) + "\"");
    }
    e.counter("opsmeter_retries_total", "Resends after transient failures.", s.retried);
    e.counter("opsmeter_throttled_responses_total", "429 answers from the ingest API.", s.throttled);
    e.counter("opsmeter_requests_sent_total", "HTTP requests sent to the ingest API.", s.requests_sent);
    e.counter("opsmeter_request_bytes_total", "Request body bytes sent to the ingest API.", s.bytes_sent);
    e.counter("opsmeter_callback_errors_total", "Exceptions caught from the application's callbacks.",
              s.callback_errors);
    e.counter("opsmeter_records_spooled_total", "Records written to the disk spool.", s.spooled);
    e.counter("opsmeter_records_unspooled_total", "Records read back from the disk spool.", s.unspooled);
    e.counter("opsmeter_spool_records_lost_total",
              "Spooled records lost: torn or bad lines, too old, over the size bound, failed writes.",
              s.spool_dropped);

    e.gauge("opsmeter_queue_records", "Records waiting in the queue.", static_cast<double>(s.queued));
    e.gauge("opsmeter_queue_bytes", "Bytes the queue's byte bound counts now.", static_cast<double>(s.queued_bytes));
    e.gauge("opsmeter_queue_capacity_records", "The queue's bound in records.", static_cast<double>(s.queue_capacity));
    e.gauge("opsmeter_queue_capacity_bytes", "The queue's bound in bytes.", static_cast<double>(s.queue_max_bytes));
    e.gauge("opsmeter_in_flight", "Records being sent now.", static_cast<double>(s.in_flight));
    e.gauge("opsmeter_retry_waiting", "Records waiting for a retry or a throttle window.",
            static_cast<double>(s.retry_waiting));
    e.gauge("opsmeter_oldest_pending_age_seconds", "How long ago the oldest pending record was recorded.",
            std::chrono::duration<double>(s.oldest_pending_age).count());
    e.gauge("opsmeter_last_delivery_timestamp_seconds", "Wall time of the last delivery (0: none yet).",
            seconds_since_epoch(s.last_delivered_at));
    e.gauge("opsmeter_enabled", "1 if the client sends telemetry (see status().disabled_reason).",
            st.enabled ? 1.0 : 0.0);
    e.gauge("opsmeter_unreachable", "1 while the ingest API is unreachable (records are held).",
            st.unreachable ? 1.0 : 0.0);
    e.gauge("opsmeter_telemetry_paused", "1 while telemetry is paused after a 402 (plan limit).",
            st.telemetry_paused ? 1.0 : 0.0);
    e.gauge("opsmeter_throttled", "1 while the whole sender holds for a 429's window.", st.throttled ? 1.0 : 0.0);
    e.gauge("opsmeter_send_rate_limit", "Requests per second the sender paces itself to after 429s (0: not pacing).",
            st.send_rate_limit);
    return e.take();
  } catch (...) {
    return std::string();
  }
}

}  // namespace opsmeter
