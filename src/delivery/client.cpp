// opsmeter::Client: composes its parts (client_impl.hpp) and answers the public calls; after
// fork() they go to the child's fresh client (Impl::live()). The lifecycle (flush, shutdown,
// exit, fork) is in client_lifecycle.cpp.
#include "delivery/client_impl.hpp"

#include "base/random.hpp"
#include "base/text.hpp"
#include "delivery/client_access.hpp"
#include "delivery/workspace.hpp"
#include "transport/curl_transport.hpp"

namespace opsmeter {

using detail::Clock;
using detail::Millis;
using detail::TimePoint;

Client::Impl::Impl(Options options, const detail::InternalOptions& internal)
    : generation_(detail::fork_generation()),
      internal_(internal),
      config_(detail::finalize_options(std::move(options), internal)),
      logger_(config_.options.log_level, config_.options.on_log),
      shared_(config_.options.queue.capacity, config_.options.queue.max_bytes),
      admission_(shared_),
      flushers_(shared_),
      accounting_(config_.options, shared_, logger_),
      gate_(config_.options.max_in_flight, shared_.admission.paused_until_ns, shared_.unreachable,
            detail::ProbeBackoff{config_.options.outage_probe.min, config_.options.outage_probe.max},
            detail::RateConfig{config_.options.rate.decrease, config_.options.rate.growth,
                               config_.options.rate.min_send_rate, detail::random_seed()}) {
  for (const std::string& warning : config_.warnings) logger_.log(LogLevel::kWarn, warning);
  disabled_reason_ = config_.disabled_reason;
  if (disabled_reason_.empty()) disabled_reason_ = detail::ensure_curl_global_init();
  if (disabled_reason_.empty()) {
    transport_ = detail::make_curl_transport(detail::curl_settings(config_), disabled_reason_);
  }
  if (!disabled_reason_.empty()) {
    logger_.log(LogLevel::kError, "telemetry disabled: " + disabled_reason_);
    shared_.admission.stop_accepting();
    return;
  }
  logger_.log(LogLevel::kInfo, detail::describe_delivery(config_));
  if (!config_.options.spool.dir.empty() && !config_.options.dry_run) {
    spool_ = std::make_unique<detail::Spool>(
        config_.options.spool.dir, detail::spool_identity(config_.options.base_url, config_.options.api_key),
        config_.options.spool.max_bytes, config_.options.spool.max_age, logger_);
    spool_refused_ = spool_->report().refused_reason;
    if (!spool_->enabled()) spool_.reset();  // refused, and logged: runs without one
  }
  flushers_.set_spool(spool_ != nullptr);
  admission_.set_transport(transport_.get());
  dispatcher_.emplace(config_, shared_, *transport_, gate_, accounting_, [] { return Clock::now(); },
                      spool_.get());
  worker_.emplace(shared_, *dispatcher_, *transport_, flushers_);
}

void Client::Impl::start() {
  if (!worker_) return;
  worker_->start(shared_from_this());
  detail::remember_live(std::weak_ptr<LiveWorker>(weak_from_this()));
}

Client::Impl& Client::Impl::live() const noexcept {
  if (!forked()) return const_cast<Impl&>(*this);
  if (Impl* next = successor_raw_.load(std::memory_order_acquire)) return *next;
  Impl* next = const_cast<Impl*>(this)->start_successor();
  return next != nullptr ? *next : const_cast<Impl&>(*this);
}

RecordResult Client::Impl::record(LlmCallRecord&& record) noexcept {
  if (Impl& next = live(); &next != this) return next.record(std::move(record));
  if (!disabled_reason_.empty() || orphaned()) return admission_.drop(DropReason::kDisabled);
  return admission_.admit(std::move(record));
}

void Client::Impl::metadata_left_out(std::string_view key, std::string_view why) noexcept {
  if (Impl& next = live(); &next != this) return next.metadata_left_out(key, why);
  // A bounded number of lines: a loop that sets the same key on every call stays quiet after.
  constexpr std::uint32_t kLines = 16;
  if (!logger_.enabled(LogLevel::kWarn)) return;
  const std::uint32_t n = metadata_left_out_.fetch_add(1, std::memory_order_relaxed);
  if (n >= kLines) return;
  try {
    std::string line = "metadata \"" + detail::log_safe(key, 64) + "\" left out (" + std::string(why) +
                       "); the record is still sent";
    if (n + 1 == kLines) line += "; further entries left out are not logged";
    logger_.log(LogLevel::kWarn, line);
  } catch (...) {
  }
}

CheckResult Client::Impl::check(Millis timeout) const noexcept {
  if (!disabled_reason_.empty() || orphaned()) {
    CheckResult r;
    r.error = CheckError::kDisabled;
    try {
      r.detail = disabled_reason_;
    } catch (...) {
    }
    return r;
  }
  return detail::check_with(config_, timeout);
}

Stats Client::Impl::stats() const noexcept {
  Stats s;
  try {
    accounting_.fill(s, detail::Clock::now());
  } catch (...) {
    // Only allocation can fail here; the counters filled so far are still returned.
  }
  return s;
}

ClientStatus Client::Impl::status() const noexcept {
  ClientStatus st;
  try {
    st.enabled = disabled_reason_.empty();
    st.disabled_reason = disabled_reason_;
    st.shut_down = !shared_.admission.open() && st.enabled;
    detail::describe(*gate_.status(), st);
    // Wall times for the steady deadlines: the same distance from now on the wall clock.
    const detail::TimePoint now = detail::Clock::now();
    const detail::WallClock::time_point wall_now = detail::WallClock::now();
    const auto on_wall = [&](detail::TimePoint t) {
      if (t == detail::TimePoint{}) return detail::WallClock::time_point{};
      return wall_now + std::chrono::duration_cast<detail::WallClock::duration>(t - now);
    };
    st.paused_until_wall = on_wall(st.paused_until);
    st.throttled_until_wall = on_wall(st.throttled_until);
    st.unreachable_since_wall = on_wall(st.unreachable_since);
    st.next_probe_at_wall = on_wall(st.next_probe_at);
    st.posture = accounting_.posture();
    st.config_warnings = config_.options.environment_errors;
    st.config_warnings.insert(st.config_warnings.end(), config_.warnings.begin(), config_.warnings.end());
    st.spool_refused_reason = spool_refused_;
    if (spool_) detail::describe(spool_->report(), st);
  } catch (...) {
  }
  return st;
}

Client::Client(Options options) noexcept : Client(std::move(options), detail::InternalOptions{}) {}

Client::Client(Options options, const detail::InternalOptions& internal) noexcept {
  try {
    impl_ = std::make_shared<Impl>(std::move(options), internal);
    impl_->start();
  } catch (...) {
    impl_.reset();  // out of memory or no thread: a null impl behaves as a disabled client
  }
}

Client::~Client() {
  if (impl_) impl_->live().close();
}

Client::Client(Client&& other) noexcept = default;

Client& Client::operator=(Client&& other) noexcept {
  if (this == &other) return *this;
  if (impl_) impl_->live().close();
  impl_ = std::move(other.impl_);
  return *this;
}

RecordResult Client::record(LlmCallRecord&& record) noexcept {
  if (!impl_) return detail::dropped_result(DropReason::kDisabled);
  return impl_->live().record(std::move(record));
}

RecordResult Client::record(const LlmCallRecord& record) noexcept {
  try {
    LlmCallRecord copy = record;
    return this->record(std::move(copy));
  } catch (...) {
    return detail::dropped_result(DropReason::kInternal);
  }
}

detail::RecordSink* detail::ClientAccess::sink(const Client& client) noexcept { return client.impl_.get(); }
detail::RecordSink* detail::sink_of(const Client& client) noexcept { return ClientAccess::sink(client); }

FlushResult Client::flush(std::chrono::milliseconds timeout) noexcept {
  return impl_ ? impl_->live().flush(timeout) : FlushResult::kFlushed;
}

FlushResult Client::shutdown(std::chrono::milliseconds timeout) noexcept {
  return impl_ ? impl_->live().shutdown(timeout) : FlushResult::kFlushed;
}

Stats Client::stats() const noexcept { return impl_ ? impl_->live().stats() : Stats{}; }

CheckResult Client::check(std::chrono::milliseconds timeout) const noexcept {
  if (impl_) return impl_->live().check(timeout);
  CheckResult r;
  r.error = CheckError::kDisabled;
  return r;
}

ClientStatus Client::status() const noexcept {
  if (impl_) return impl_->live().status();
  ClientStatus st;
  st.disabled_reason = "client was moved from or could not be created";
  return st;
}

}  // namespace opsmeter
