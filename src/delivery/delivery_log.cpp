// The wording of the delivery's log lines and when each is written (see delivery_log.hpp).
#include "delivery/delivery_log.hpp"

#include <cstdio>

#include "base/text.hpp"
#include "delivery/rate.hpp"
#include "opsmeter/validation.hpp"

namespace opsmeter::detail {
namespace {

constexpr Millis kDropLogInterval{1000};
constexpr Millis kRepeatLogInterval{60000};
constexpr std::size_t kMaxRejectionKinds = 64;  // distinct (status, reason) pairs remembered

std::string seconds_text(Millis ms) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", static_cast<double>(ms.count()) / 1000.0);
  return buffer;
}

std::string per_second(double rate) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.0f", rate);
  return buffer;
}

}  // namespace

void DeliveryLog::delivered() {
  if (!key_refused_) return;
  key_refused_ = false;
  logger_.log(LogLevel::kInfo, "ingest accepts the API key again; " + std::to_string(refused_records_) +
                                   " record(s) were rejected while it was refused");
  refused_records_ = 0;
}

void DeliveryLog::rejected(const std::string& id, int status, const std::string& posture_reason, TimePoint now) {
  if (status >= 300 && status <= 399) {
    if (!redirect_logged_) {
      redirect_logged_ = true;
      logger_.log(LogLevel::kError,
                  "ingest answered HTTP " + std::to_string(status) +
                      " (a redirect); redirects are never followed, records are dropped as "
                      "rejected. Check base_url / OPSMETER_API_BASE_URL.");
    }
  } else if (status == 401 || status == 403) {
    ++refused_records_;
    if (!key_refused_) {
      key_refused_ = true;
      logger_.log(LogLevel::kError,
                  "ingest rejected the API key (HTTP " + std::to_string(status) +
                      "); records are being dropped. Check OPSMETER_API_KEY / Options::api_key.");
    }
  } else if (logger_.enabled(LogLevel::kWarn)) {
    const std::string reason = log_safe(posture_reason);
    if (rejection_logs_.size() >= kMaxRejectionKinds) rejection_logs_.clear();
    Repeats& repeats = rejection_logs_[{status, reason}];
    if (now < repeats.quiet_until) {
      ++repeats.left_out;
    } else {
      std::string line = "ingest rejected record " + log_safe(id) + " with HTTP " +
                         std::to_string(status) + ": " + reason;
      if (repeats.left_out > 0) {
        line += " (" + std::to_string(repeats.left_out) + " more like it in the last minute not logged)";
      }
      logger_.log(LogLevel::kWarn, line);
      repeats = Repeats{now + kRepeatLogInterval, 0};
    }
  }
}

void DeliveryLog::throttled(TimePoint now, TimePoint until, const ThrottleEvents& events, double pace) {
  ++throttled_in_state_;
  if (events.throttling_started) {
    throttled_in_state_ = 1;
    throttled_since_line_ = 0;
    next_throttle_line_ = now + kRepeatLogInterval;
    std::string line = "Telemetry throttled, retry after " +
                       seconds_text(std::chrono::duration_cast<Millis>(until - now)) + "s";
    if (events.pacing_started) {
      line += "; pacing sends at " + per_second(pace) + " requests/s, learned from the accepted rate";
      cuts_since_line_ = 0;
      next_pacing_line_ = now + kRepeatLogInterval;
    }
    logger_.log(LogLevel::kWarn, line);
    return;
  }
  ++throttled_since_line_;
  if (events.pacing_started) {
    cuts_since_line_ = 0;
    next_pacing_line_ = now + kRepeatLogInterval;
    logger_.log(LogLevel::kWarn, "ingest throttling (429): pacing sends at " + per_second(pace) +
                                     " requests/s, learned from the accepted rate; rising while answers succeed");
  } else if (events.cut) {
    ++cuts_since_line_;
    if (now >= next_pacing_line_) {
      next_pacing_line_ = now + kRepeatLogInterval;
      logger_.log(LogLevel::kWarn, "ingest throttling (429): pacing now at " + per_second(pace) +
                                       " requests/s (" + std::to_string(cuts_since_line_) +
                                       " cut(s) since the last line)");
      cuts_since_line_ = 0;
    }
  }
  if (now >= next_throttle_line_) {
    next_throttle_line_ = now + kRepeatLogInterval;
    logger_.log(LogLevel::kWarn, "Telemetry still throttled: " + std::to_string(throttled_since_line_) +
                                     " answers 429 since the last line; retry after " +
                                     seconds_text(std::chrono::duration_cast<Millis>(until - now)) + "s");
    throttled_since_line_ = 0;
  }
}

void DeliveryLog::throttling_ended(Millis lasted) {
  logger_.log(LogLevel::kInfo, "Telemetry throttling ended after " + seconds_text(lasted) + "s (" +
                                   std::to_string(throttled_in_state_) + " answers 429)");
  throttled_in_state_ = 0;
}

void DeliveryLog::paused(const std::string& reason, Millis window, bool already_paused) {
  if (already_paused) {
    logger_.log(LogLevel::kInfo, "Telemetry still paused (" + log_safe(reason) + ") after the probe");
    return;
  }
  logger_.log(LogLevel::kWarn, "Telemetry paused (" + log_safe(reason) + ") for " + seconds_text(window) +
                                   "s; provider calls continue");
}

void DeliveryLog::resumed() { logger_.log(LogLevel::kWarn, "Telemetry resumed"); }

void DeliveryLog::user_id_hashed_as_pii() {
  if (pii_warning_logged_) return;
  pii_warning_logged_ = true;
  logger_.log(LogLevel::kWarn,
              "a userId looked like an email address or phone number; such userIds are sent "
              "hashed (hash_user_id). Send a stable pseudonymous id instead.");
}

void DeliveryLog::user_id_dropped_without_salt() {
  if (no_salt_logged_) return;
  no_salt_logged_ = true;
  logger_.log(LogLevel::kWarn,
              "a userId had to be hashed but no user_id_salt is set, so it was sent as null (an "
              "unkeyed hash of an email address can be reversed). Set Options::user_id_salt or "
              "OPSMETER_USER_ID_SALT to a secret to send a keyed hash (HMAC-SHA256) instead.");
}

void DeliveryLog::dry_run(const std::string& body) {
  if (logger_.enabled(LogLevel::kInfo)) logger_.log(LogLevel::kInfo, "dry run, not sent: " + body);
}

void DeliveryLog::abandoned_lookups(int count) {
  logger_.log(LogLevel::kWarn, "shutdown abandoned a name lookup that had not finished (" +
                                   std::to_string(count) +
                                   " transfer(s)); its resolver thread ends on its own");
}

// A failed connection repeats for every record until something outside changes, so it is
// logged once, when the outage starts; the gate says when it ends.
void DeliveryLog::connection_failed(const HttpResult& result, bool outage_started, const std::string& why) {
  if (!outage_started) return;
  const bool tls = result.error == TransportError::kTls;
  const std::string reason = log_safe(why);
  link_down_tls_ = tls;
  if (tls) {
    logger_.log(LogLevel::kError, "TLS connection to the ingest API failed: " + reason +
                                      " (check tls.ca_bundle / OPSMETER_CA_BUNDLE); holding records, "
                                      "probing with one request at a time");
  } else {
    logger_.log(LogLevel::kError, "ingest unreachable: " + reason +
                                      " (check base_url / OPSMETER_API_BASE_URL, DNS and the "
                                      "network); holding records, probing with one request at a time");
  }
}

void DeliveryLog::reachable_again(Millis down_for, std::size_t held) {
  logger_.log(LogLevel::kInfo, std::string(link_down_tls_ ? "TLS connection to the ingest API works again"
                                                          : "ingest reachable again") +
                                   " after " + seconds_text(down_for) + "s; " + std::to_string(held) +
                                   " records held");
}

void DeliveryLog::pacing_ended(double limit) {
  logger_.log(LogLevel::kInfo, "ingest throttling over: pacing ended at " + per_second(limit) +
                                   " requests/s (not in use for " + seconds_text(SendRate::kCalm) + "s)");
}

void DeliveryLog::probing(Millis down_for) {
  if (!logger_.enabled(LogLevel::kDebug)) return;
  logger_.log(LogLevel::kDebug, "probing the ingest API, unreachable for " + seconds_text(down_for) + "s");
}

void DeliveryLog::log_record_side_drops(TimePoint now) {
  if (!names_cut_logged_ && shared_.names_cut.load(std::memory_order_relaxed) > 0) {
    names_cut_logged_ = true;
    logger_.log(LogLevel::kWarn, "record() cut a provider or model name longer than the contract's cap (" +
                                     std::to_string(limits::kMaxProviderBytes) + " / " +
                                     std::to_string(limits::kMaxModelBytes) +
                                     " bytes) to fit; the record was kept");
  }
  if (now < next_drop_log_ || !logger_.enabled(LogLevel::kWarn)) return;
  const auto count = [this](DropReason r) {
    return shared_.dropped[static_cast<std::size_t>(r)].load(std::memory_order_relaxed);
  };
  const std::uint64_t full = count(DropReason::kQueueFull);
  const std::uint64_t invalid = count(DropReason::kInvalid);
  const std::uint64_t total = full + invalid;
  if (total == record_side_drops_logged_) return;
  record_side_drops_logged_ = total;
  next_drop_log_ = now + kDropLogInterval;
  std::string line = "record() dropped so far: queue_full=" + std::to_string(full) +
                     " invalid=" + std::to_string(invalid);
  if (const char* last = shared_.last_invalid.load(std::memory_order_relaxed)) {
    line += " (last invalid field: ";
    line += last;
    line += ')';
  }
  logger_.log(LogLevel::kWarn, line);
}

}  // namespace opsmeter::detail
