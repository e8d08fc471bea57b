// Delivery policy decisions and Retry-After parsing.
#include "delivery/policy.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "base/text.hpp"

namespace opsmeter::detail {
namespace {

bool is_transient_status(int status) noexcept { return status == 408 || (status >= 500 && status <= 599); }

Millis backoff(int attempts, const PolicyConfig& config, double jitter) noexcept {
  // attempts >= 1: the first retry waits up to base, the next up to 2*base, and so on.
  const int exponent = std::clamp(attempts - 1, 0, 30);
  const double ceiling = std::min(static_cast<double>(config.retry_max_delay.count()),
                                  static_cast<double>(config.retry_base_delay.count()) *
                                      static_cast<double>(1LL << exponent));
  const double draw = std::clamp(jitter, 0.0, 1.0) * ceiling;
  return Millis(static_cast<Millis::rep>(draw));
}

Decision transient(int attempts, TimePoint now, const PolicyConfig& config, double jitter) noexcept {
  if (attempts > config.max_retries) return {Action::kGiveUp, {}};
  return {Action::kRetry, now + backoff(attempts, config, jitter)};
}

int month_index(const char* name) noexcept {
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (std::strncmp(name, kMonths[i], 3) == 0 && name[3] == '\0') return i;
  }
  return -1;
}

// Parses the three HTTP-date forms of RFC 9110 section 5.6.7 into seconds since the epoch.
std::optional<std::time_t> parse_http_date(std::string_view text) noexcept {
  char buffer[64];
  if (text.size() >= sizeof buffer) return std::nullopt;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  char weekday[16] = {}, month[4] = {}, zone[4] = {};
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  int consumed = 0;
  std::tm tm{};
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  if (std::sscanf(buffer, "%15[A-Za-z], %2d %3s %4d %2d:%2d:%2d %3s%n", weekday, &day, month,
                  &year, &hour, &minute, &second, zone, &consumed) == 8 &&
      consumed == static_cast<int>(text.size())) {
    // parsed
  } else if (std::sscanf(buffer, "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d %3s%n", weekday, &day,
                         month, &year, &hour, &minute, &second, zone, &consumed) == 8 &&
             consumed == static_cast<int>(text.size())) {
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; two-digit years are taken as 19xx/20xx.
    year += year < 70 ? 2000 : 1900;
  } else if (std::sscanf(buffer, "%3s %3s %2d %2d:%2d:%2d %4d%n", weekday, month, &day, &hour,
                         &minute, &second, &year, &consumed) == 7 &&
             consumed == static_cast<int>(text.size())) {
    std::strcpy(zone, "GMT");  // asctime: "Sun Nov  6 08:49:37 1994"
  } else {
    return std::nullopt;
  }
  const int mon = month_index(month);
  if (mon < 0 || std::strcmp(zone, "GMT") != 0 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 60 || year < 1970) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = mon;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return timegm(&tm);
}

}  // namespace

std::string_view to_string(Action action) noexcept {
  switch (action) {
    case Action::kDelivered: return "delivered";
    case Action::kRetry: return "retry";
    case Action::kThrottle: return "throttle";
    case Action::kHold: return "hold";
    case Action::kPause: return "pause";
    case Action::kReject: return "reject";
    case Action::kGiveUp: return "give_up";
    case Action::kAbandon: return "abandon";
  }
  return "unknown";
}

Decision decide(const AttemptOutcome& outcome, int attempts, TimePoint now,
                const PolicyConfig& config, double jitter) noexcept {
  if (outcome.error == TransportError::kAborted) return {Action::kAbandon, {}};
  if (outcome.connection_failed) return {Action::kHold, {}};  // no connection: never an attempt
  const bool unanswered = outcome.http_status == 0 && (outcome.error == TransportError::kNetwork ||
                                                       outcome.error == TransportError::kTimeout);
  if (outcome.unreachable && unanswered) {
    // A request reset as the API went down (including libcurl's own resend) is held like any
    // record in the outage. One that timed out may have been read: it counts as an attempt.
    if (outcome.error == TransportError::kTimeout && outcome.reached_wire && attempts > config.max_retries) {
      return {Action::kGiveUp, {}};
    }
    return {Action::kHold, {}};
  }
  if (outcome.error != TransportError::kNone) return transient(attempts, now, config, jitter);
  const int status = outcome.http_status;
  if (status >= 200 && status <= 299) return {Action::kDelivered, {}};
  if (status == 429) {
    // At least kMinThrottle whatever the header says (0, a past date, garbage), so that a
    // hostile or broken server cannot turn one record into a resend storm.
    // Up to 10% more, drawn, so that processes sharing a key do not all resume at once. The
    // window with its spread never passes max_retry_after: at the cap, the spread is drawn
    // below it instead of above.
    const Millis asked = outcome.retry_after.value_or(config.default_retry_after);
    const Millis wait = std::max(kMinThrottle, std::min(asked, config.max_retry_after));
    const auto spread_max = static_cast<Millis::rep>(static_cast<double>(wait.count()) * 0.1);
    const Millis base = std::min(wait, config.max_retry_after - Millis(spread_max));
    const auto spread = static_cast<Millis::rep>(static_cast<double>(spread_max) * std::clamp(jitter, 0.0, 1.0));
    return {Action::kThrottle, now + base + Millis(spread)};
  }
  if (status == 402) return {Action::kPause, now + config.pause_window};
  if (is_transient_status(status)) return transient(attempts, now, config, jitter);
  return {Action::kReject, {}};
}

std::optional<Millis> parse_retry_after(std::string_view value, WallClock::time_point wall_now) noexcept {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return Millis(999999999LL * 1000);  // absurd; the caller caps it
    long long seconds = 0;
    for (char c : value) seconds = seconds * 10 + (c - '0');
    return Millis(seconds * 1000);
  }
  const std::optional<std::time_t> when = parse_http_date(value);
  if (!when) return std::nullopt;
  // In whole seconds first: a date past 2262 does not fit the clock's nanoseconds.
  const std::time_t now_s = WallClock::to_time_t(wall_now);
  if (*when - now_s > 999999999) return Millis(999999999LL * 1000);  // absurd; the caller caps it
  const auto target = WallClock::from_time_t(*when);
  if (target <= wall_now) return Millis(0);
  return std::chrono::ceil<Millis>(target - wall_now);
}

}  // namespace opsmeter::detail
