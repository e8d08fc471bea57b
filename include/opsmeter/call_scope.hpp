// opsmeter/call_scope.hpp: measure and record one provider call with an RAII scope.
//
//   opsmeter::CallOptions how;
//   how.endpoint_tag = "support.reply";
//   opsmeter::CallScope call = client.start_call("openai", "gpt-4o-mini", how);
//   std::string body = http_post(...);                 // the provider call
//   call.set_response(opsmeter::extract_openai_chat(body));
//   // the record is sent when `call` goes out of scope
//
// The scope reads the steady clock when it starts and again when it finishes, so latencyMs is
// monotonic. Its status is `error` when it ends because an exception is propagating (detected
// with std::uncaught_exceptions(); errorCode "exception" unless set) or when set_error() was
// called; `success` otherwise. finish() records at once; cancel() records nothing. A scope never
// throws, a moved-from scope records nothing, and the externalRequestId is fixed at start and
// readable through id(), so an application retry loop can pass it to the next attempt's scope
// (CallOptions::external_request_id) and the server stores one row.
//
// A scope belongs to one thread at a time. It refers to its Client's internals, which stay put
// when the Client object is moved; the Client must outlive its scopes.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "opsmeter/client.hpp"
#include "opsmeter/context.hpp"
#include "opsmeter/export.hpp"
#include "opsmeter/record.hpp"
#include "opsmeter/usage.hpp"

namespace opsmeter {
namespace detail {
class RecordSink;
struct CallScopeAccess;
}  // namespace detail

// Per-call values. Empty or unset fields come from the thread's context (opsmeter/context.hpp),
// then from the client's Options defaults.
struct CallOptions {
  std::string external_request_id;  // empty: a new id (new_request_id())
  std::string endpoint_tag;
  std::string prompt_version;
  std::optional<std::string> user_id;
  std::string tenant_id;
  std::string feature;    // metadata.feature
  std::string endpoint;   // metadata.endpoint
  std::string operation;  // metadata.operation, e.g. "chat.completions"
  std::optional<DataMode> data_mode;
  std::optional<Environment> environment;
  std::optional<TraceIds> trace;  // e.g. parse_traceparent(request header); invalid ids are not sent
};

class OPSMETER_API CallScope {
 public:
  CallScope() noexcept;  // an inactive scope that records nothing
  ~CallScope();          // records, unless finished, cancelled or moved from
  CallScope(CallScope&& other) noexcept;
  CallScope& operator=(CallScope&& other) noexcept;  // records the scope it replaces first
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

  const std::string& id() const noexcept { return record_.external_request_id; }
  bool active() const noexcept { return sink_ != nullptr; }

  // Token counts, cache/reasoning metadata and metadata.tokenSource.
  CallScope& set_usage(const Usage& usage) noexcept;
  // Usage (when the response had any), the answering model and the provider's response id.
  CallScope& set_response(const ProviderResponse& response) noexcept;
  CallScope& set_model(std::string_view model) noexcept;
  CallScope& set_provider_request_id(std::string_view id) noexcept;
  // Marks the call failed with this errorCode (e.g. "provider_timeout", "rate_limited").
  CallScope& set_error(std::string_view error_code) noexcept;
  // A metadata entry. A well-known key sets its typed field (`feature`, `endpoint`, `tenantId`,
  // `operation`, `providerRequestId`, and valid `traceId` / `spanId`; string values only); a
  // key the SDK writes itself (`sdkLanguage`, `sdkVersion`, `tokenSource`, `recordedAt`) is
  // left out. An entry left out is named in a warning log line (at most 16 per client), and no
  // key given here makes the record invalid.
  CallScope& set_metadata(std::string_view key, MetadataValue value) noexcept;

  // Records now with the latency so far; the scope becomes inactive.
  RecordResult finish() noexcept;
  // Records nothing; the scope becomes inactive.
  void cancel() noexcept;

  // The record as it stands, for fields without a setter.
  LlmCallRecord& record() noexcept { return record_; }

 private:
  friend struct detail::CallScopeAccess;

  detail::RecordSink* sink_ = nullptr;
  LlmCallRecord record_;
  std::chrono::steady_clock::time_point started_{};
  int uncaught_at_start_ = 0;
  bool failed_ = false;
};

}  // namespace opsmeter
