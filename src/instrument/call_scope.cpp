// The RAII call scope: built from call options, the thread's context and the clock.
#include "opsmeter/call_scope.hpp"

#include <algorithm>
#include <exception>

#include "base/text.hpp"
#include "instrument/call_scope_access.hpp"
#include "instrument/record_sink.hpp"
#include "opsmeter/ids.hpp"
#include "opsmeter/validation.hpp"

namespace opsmeter {
namespace {

using detail::utf8_prefix;

// The typed field that owns a well-known metadata key, or null.
std::string* typed_field(Metadata& m, std::string_view key) {
  if (key == "operation") return &m.operation;
  if (key == "tenantId") return &m.tenant_id;
  if (key == "endpoint") return &m.endpoint;
  if (key == "feature") return &m.feature;
  if (key == "providerRequestId") return &m.provider_request_id;
  if (key == "traceId") return &m.trace_id;
  if (key == "spanId") return &m.span_id;
  return nullptr;
}

// A key the SDK writes itself (its name and version, the token source, the late stamp).
bool sdk_owned(std::string_view key) {
  return key == "sdkLanguage" || key == "sdkVersion" || key == "tokenSource" || key == "recordedAt";
}

// A metadata entry: a well-known key sets its typed field (a string; anything else there is
// left out), a key the SDK owns is left out, any other key is a user entry. So no key given
// here can make the record invalid by its name. Returns why an entry was left out, or null.
const char* put_metadata(Metadata& m, std::string_view key, MetadataValue value) {
  if (std::string* field = typed_field(m, key)) {
    auto* text = std::get_if<std::string>(&value);
    if (text == nullptr) return "this key takes a string value";
    // Trace ids that are not valid trace context are left out, as from CallOptions.
    if (key == "traceId" && !detail::is_trace_hex(*text, 32)) return "not a W3C trace id (32 hex digits)";
    if (key == "spanId" && !detail::is_trace_hex(*text, 16)) return "not a W3C span id (16 hex digits)";
    *field = std::move(*text);
    return nullptr;
  }
  if (sdk_owned(key)) return "the SDK writes this key itself";
  auto it = std::find_if(m.extra.begin(), m.extra.end(), [&](const auto& e) { return e.first == key; });
  if (it == m.extra.end()) {
    m.extra.emplace_back(std::string(key), std::move(value));
  } else {
    it->second = std::move(value);
  }
  return nullptr;
}

// put_metadata for a user's entry: what is left out is told to the sink, which logs it.
void put_user_metadata(detail::RecordSink* sink, Metadata& m, std::string_view key, MetadataValue value) {
  const char* why = put_metadata(m, key, std::move(value));
  if (why != nullptr && sink != nullptr) sink->metadata_left_out(key, why);
}

template <typename T>
const T* first_set(const std::optional<T>& a, const std::optional<T>& b) {
  if (a) return &*a;
  if (b) return &*b;
  return nullptr;
}

// Copies the first non-empty of (explicit option, context value) into an empty field; on the
// caller's path, so it assigns only what is set and builds no temporaries.
void pick(std::string& out, const std::string& explicit_value, const std::optional<std::string>& context_value) {
  if (!explicit_value.empty()) {
    out = explicit_value;
  } else if (context_value) {
    out = *context_value;
  }
}

void fill_from(detail::RecordSink* sink, LlmCallRecord& r, const CallOptions& o, const Context& ctx) {
  // The context's free-form entries first, so that typed values set explicitly win.
  for (const auto& [key, value] : ctx.metadata) put_user_metadata(sink, r.metadata, key, value);
  pick(r.endpoint_tag, o.endpoint_tag, ctx.endpoint_tag);
  pick(r.prompt_version, o.prompt_version, ctx.prompt_version);
  pick(r.metadata.tenant_id, o.tenant_id, ctx.tenant_id);
  pick(r.metadata.feature, o.feature, ctx.feature);
  pick(r.metadata.endpoint, o.endpoint, ctx.endpoint);
  if (const std::string* user = first_set(o.user_id, ctx.user_id)) r.user_id = *user;
  if (!o.operation.empty()) r.metadata.operation = o.operation;
  if (const DataMode* mode = first_set(o.data_mode, ctx.data_mode)) r.data_mode = *mode;
  if (const Environment* env = first_set(o.environment, ctx.environment)) r.environment = *env;
  // Trace ids that are not valid trace context are left out rather than making the record
  // invalid: the call's cost still counts.
  if (const TraceIds* trace = first_set(o.trace, ctx.trace)) {
    if (detail::is_trace_hex(trace->trace_id, 32) && detail::is_trace_hex(trace->span_id, 16)) {
      r.metadata.trace_id = trace->trace_id;
      r.metadata.span_id = trace->span_id;
    }
  }
}

}  // namespace

CallScope detail::CallScopeAccess::begin(RecordSink* sink, std::string_view provider,
                                 std::string_view model, const CallOptions& options) noexcept {
  // One named return object on every path, so it is built in place, never moved.
  CallScope scope;
  if (sink == nullptr) return scope;
  bool built = false;
  try {
    LlmCallRecord& r = scope.record_;
    // Not a conditional expression: `cond ? new_request_id() : options.external_request_id`
    // has type const std::string and would copy the fresh id instead of moving it.
    if (options.external_request_id.empty()) {
      r.external_request_id = new_request_id();
    } else {
      r.external_request_id = options.external_request_id;
    }
    r.provider = provider;
    r.model = model;
    fill_from(sink, r, options, current_context_ref());
    built = true;
  } catch (...) {
    // Out of memory: the scope stays inactive and records nothing.
  }
  if (built) {
    scope.sink_ = sink;
    scope.uncaught_at_start_ = std::uncaught_exceptions();
    scope.started_ = std::chrono::steady_clock::now();
  }
  return scope;
}

CallScope Client::start_call(std::string_view provider, std::string_view model,
                             const CallOptions& options) noexcept {
  return detail::CallScopeAccess::begin(detail::sink_of(*this), provider, model, options);
}

CallScope Client::start_call(std::string_view provider, std::string_view model) noexcept {
  return start_call(provider, model, CallOptions{});
}

CallScope::CallScope() noexcept = default;

CallScope::~CallScope() {
  if (sink_) detail::CallScopeAccess::finish(*this, std::uncaught_exceptions() > uncaught_at_start_);
}

CallScope::CallScope(CallScope&& other) noexcept
    : sink_(other.sink_),
      record_(std::move(other.record_)),
      started_(other.started_),
      uncaught_at_start_(other.uncaught_at_start_),
      failed_(other.failed_) {
  other.sink_ = nullptr;
}

CallScope& CallScope::operator=(CallScope&& other) noexcept {
  if (this == &other) return *this;
  if (sink_) detail::CallScopeAccess::finish(*this, false);
  sink_ = other.sink_;
  record_ = std::move(other.record_);
  started_ = other.started_;
  uncaught_at_start_ = other.uncaught_at_start_;
  failed_ = other.failed_;
  other.sink_ = nullptr;
  return *this;
}

CallScope& CallScope::set_usage(const Usage& usage) noexcept {
  try {
    record_.input_tokens = usage.input_tokens;
    record_.output_tokens = usage.output_tokens;
    record_.total_tokens = usage.total_tokens;
    record_.metadata.token_source = usage.source;
    Metadata& m = record_.metadata;
    if (usage.cached_input_tokens > 0) put_metadata(m, "cachedInputTokens", usage.cached_input_tokens);
    if (usage.cache_creation_input_tokens > 0) {
      put_metadata(m, "cacheCreationInputTokens", usage.cache_creation_input_tokens);
    }
    if (usage.reasoning_tokens > 0) put_metadata(m, "reasoningTokens", usage.reasoning_tokens);
  } catch (...) {
  }
  return *this;
}

CallScope& CallScope::set_response(const ProviderResponse& response) noexcept {
  if (response.has_usage) set_usage(response.usage);
  if (!response.model.empty()) set_model(response.model);
  if (!response.id.empty()) set_provider_request_id(response.id);
  return *this;
}

CallScope& CallScope::set_model(std::string_view model) noexcept {
  try {
    record_.model = model;
  } catch (...) {
  }
  return *this;
}

CallScope& CallScope::set_provider_request_id(std::string_view id) noexcept {
  try {
    record_.metadata.provider_request_id = utf8_prefix(id, limits::kMaxMetadataStringBytes);
  } catch (...) {
  }
  return *this;
}

CallScope& CallScope::set_error(std::string_view error_code) noexcept {
  failed_ = true;
  try {
    record_.error_code = std::string(utf8_prefix(error_code, limits::kMaxErrorCodeBytes));
  } catch (...) {
  }
  return *this;
}

CallScope& CallScope::set_metadata(std::string_view key, MetadataValue value) noexcept {
  try {
    put_user_metadata(sink_, record_.metadata, key, std::move(value));
  } catch (...) {
  }
  return *this;
}

RecordResult CallScope::finish() noexcept { return detail::CallScopeAccess::finish(*this, false); }

void CallScope::cancel() noexcept { sink_ = nullptr; }

RecordResult detail::CallScopeAccess::finish(CallScope& scope, bool unwinding) noexcept {
  RecordSink* sink = scope.sink_;
  scope.sink_ = nullptr;
  if (sink == nullptr) return dropped_result(DropReason::kDisabled);
  LlmCallRecord& record = scope.record_;
  record.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - scope.started_)
                          .count();
  if (unwinding || scope.failed_) {
    record.status = CallStatus::kError;
    if (!record.error_code) {
      try {
        record.error_code = std::string("exception");
      } catch (...) {
      }
    }
  }
  return sink->record(std::move(record));
}

}  // namespace opsmeter
