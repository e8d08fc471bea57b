// opsmeter/capture.hpp: record a provider call in one call.
//
//   // A raw-body HTTP client (libcurl, cpp-httplib, cpr, ...): `read` turns what the call
//   // returned into the call's outcome.
//   HttpReply reply = opsmeter::capture(client, "openai", "gpt-4o-mini",
//       [&] { return http_post(url, body); },
//       [](const HttpReply& r) {
//         return opsmeter::http_outcome(r.status, r.body, opsmeter::extract_openai_chat);
//       });
//
//   // A client that returns the body as a string: the extractor is the read.
//   std::string body = opsmeter::capture(client, "openai", "gpt-4o-mini",
//       [&] { return post_and_get_body(url, request); }, opsmeter::extract_openai_chat);
//
//   // A stream: the call is handed a tap; feed it the bytes as they arrive.
//   long status = opsmeter::capture_stream(client, "openai", "gpt-4o-mini",
//       opsmeter::StreamFormat::kOpenAiChat,
//       [&](opsmeter::StreamTap tap) { return http_post_stream(url, body, tap); },
//       [](long s) { return opsmeter::http_outcome(s); });
//
// capture() starts a CallScope, runs `call()`, hands its result to `read`, records, and
// returns the result unchanged (a reference stays a reference). `read` may be any of
//   read(const Result&) -> ProviderResponse   usage, model and response id; a success
//   read(const Result&) -> CallOutcome        the same, and an errorCode when the call failed
//   read(const Result&, CallScope&)           anything else, through the scope's setters
// and for a call that returns void, `read` is left out (or takes the scope alone).
//
// An exception thrown by `call` (or by `read`) is recorded as a failed call (errorCode
// "exception", latency up to the throw) and propagates unchanged; nothing else here throws.
// Latency runs from just before `call` to the end of `read`: `read` is expected to parse, not
// to wait. The same options as start_call apply (CallOptions, then the thread's context, then
// the client's defaults).
//
// A client that returns parsed JSON: opsmeter/adapters/nlohmann_json.hpp reads
// nlohmann::json results with the same extractors.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "opsmeter/call_scope.hpp"
#include "opsmeter/client.hpp"
#include "opsmeter/export.hpp"
#include "opsmeter/usage.hpp"

namespace opsmeter {

// What a call's result says: usage facts, and why the call failed if it did.
struct CallOutcome {
  ProviderResponse response;
  std::string error_code;  // empty: the call succeeded
};

// An extractor from opsmeter/usage.hpp (extract_openai_chat, extract_anthropic, ...).
using Extractor = ProviderResponse (*)(std::string_view body) noexcept;

// The outcome of an HTTP call to a provider, from its status and body:
//   2xx        success; the body goes through `extract` (when given)
//   0          errorCode "provider_unreachable" (no HTTP answer: DNS, refused, TLS, timeout)
//   408, 504   errorCode "provider_timeout"
//   429        errorCode "rate_limited"
//   other      errorCode "provider_http_<status>"
// Error bodies are read too (when `extract` is given) for the model and response id.
OPSMETER_API CallOutcome http_outcome(long status, std::string_view body = {},
                                      Extractor extract = nullptr) noexcept;

// What capture_stream hands the call: feed it the response bytes as they arrive, in any split.
// Cheap to copy; valid until the call returns.
class StreamTap {
 public:
  explicit StreamTap(StreamUsage& usage) noexcept : usage_(&usage) {}
  void operator()(std::string_view bytes) const noexcept { usage_->feed(bytes); }
  void feed(std::string_view bytes) const noexcept { usage_->feed(bytes); }

 private:
  StreamUsage* usage_;
};

namespace detail {

template <typename T>
struct IsCallOutcome : std::false_type {};
template <>
struct IsCallOutcome<CallOutcome> : std::true_type {};

inline void apply_outcome(CallScope& scope, const ProviderResponse& response) noexcept {
  scope.set_response(response);
}

inline void apply_outcome(CallScope& scope, const CallOutcome& outcome) noexcept {
  scope.set_response(outcome.response);
  if (!outcome.error_code.empty()) scope.set_error(outcome.error_code);
}

// Hands `result` to `read` in whichever of the documented forms `read` accepts.
template <typename Read, typename Result>
void read_into(CallScope& scope, Read&& read, const Result& result) {
  if constexpr (std::is_invocable_v<Read, const Result&, CallScope&>) {
    std::invoke(std::forward<Read>(read), result, scope);
  } else {
    static_assert(std::is_invocable_v<Read, const Result&>,
                  "opsmeter::capture: read must be callable as read(result) or read(result, scope)");
    using Out = std::decay_t<std::invoke_result_t<Read, const Result&>>;
    static_assert(std::is_same_v<Out, ProviderResponse> || IsCallOutcome<Out>::value,
                  "opsmeter::capture: read(result) must return ProviderResponse or CallOutcome");
    apply_outcome(scope, std::invoke(std::forward<Read>(read), result));
  }
}

// The scope for a void call: `read` is optional and takes the scope.
template <typename Read>
void read_void(CallScope& scope, Read&& read) {
  if constexpr (std::is_invocable_v<Read, CallScope&>) {
    std::invoke(std::forward<Read>(read), scope);
  } else {
    static_assert(std::is_invocable_v<Read>, "opsmeter::capture: for a void call, read takes the scope or nothing");
    using Out = std::decay_t<std::invoke_result_t<Read>>;
    if constexpr (std::is_void_v<Out>) {
      std::invoke(std::forward<Read>(read));
    } else {
      apply_outcome(scope, std::invoke(std::forward<Read>(read)));
    }
  }
}

struct NoRead {
  void operator()(CallScope&) const noexcept {}
};

template <typename Call, typename Read>
std::invoke_result_t<Call> run_captured(CallScope& scope, Call&& call, Read&& read) {
  using Result = std::invoke_result_t<Call>;
  if constexpr (std::is_void_v<Result>) {
    std::invoke(std::forward<Call>(call));
    read_void(scope, std::forward<Read>(read));
    scope.finish();
  } else if constexpr (std::is_reference_v<Result>) {
    Result result = std::invoke(std::forward<Call>(call));
    read_into(scope, std::forward<Read>(read), static_cast<const std::remove_reference_t<Result>&>(result));
    scope.finish();
    return static_cast<Result>(result);
  } else {
    Result result = std::invoke(std::forward<Call>(call));
    read_into(scope, std::forward<Read>(read), static_cast<const Result&>(result));
    scope.finish();
    return result;
  }
}

// capture_stream's read: the stream's usage first, then the caller's `read` as capture() runs it.
template <typename Read>
struct StreamRead {
  StreamUsage& usage;
  Read& read;
  template <typename Result>
  void operator()(const Result& result, CallScope& scope) {
    scope.set_response(usage.result());
    read_into(scope, std::forward<Read>(read), result);
  }
  void operator()(CallScope& scope) {
    scope.set_response(usage.result());
    read_void(scope, std::forward<Read>(read));
  }
};

}  // namespace detail

// Records `call()` with `read` interpreting its result; returns the result.
template <typename Call, typename Read>
std::invoke_result_t<Call> capture(Client& client, std::string_view provider, std::string_view model,
                                   const CallOptions& options, Call&& call, Read&& read) {
  CallScope scope = client.start_call(provider, model, options);
  return detail::run_captured(scope, std::forward<Call>(call), std::forward<Read>(read));
}

template <typename Call, typename Read>
std::invoke_result_t<Call> capture(Client& client, std::string_view provider, std::string_view model,
                                   Call&& call, Read&& read) {
  return capture(client, provider, model, CallOptions{}, std::forward<Call>(call), std::forward<Read>(read));
}

// Records a call whose result carries nothing to read (latency and success or exception only).
template <typename Call>
std::invoke_result_t<Call> capture(Client& client, std::string_view provider, std::string_view model,
                                   Call&& call) {
  static_assert(std::is_void_v<std::invoke_result_t<Call>>,
                "opsmeter::capture: give a read (e.g. opsmeter::extract_openai_chat) for a call that returns a result");
  return capture(client, provider, model, CallOptions{}, std::forward<Call>(call), detail::NoRead{});
}

// Records a streamed call: `call(StreamTap)` feeds the tap the bytes it receives; the usage the
// stream reported is recorded (has_usage false: no token counts, as with set_response).
// `read`, when given, then sees the call's result as for capture() (e.g. an HTTP status through
// http_outcome(status)); what it returns adds to the stream's usage, never erases it.
template <typename Call, typename Read>
std::invoke_result_t<Call, StreamTap> capture_stream(Client& client, std::string_view provider,
                                                     std::string_view model, StreamFormat format,
                                                     const CallOptions& options, Call&& call, Read&& read) {
  CallScope scope = client.start_call(provider, model, options);
  StreamUsage usage(format);
  StreamTap tap(usage);
  using Result = std::invoke_result_t<Call, StreamTap>;
  return detail::run_captured(
      scope, [&]() -> Result { return std::invoke(std::forward<Call>(call), tap); },
      detail::StreamRead<Read>{usage, read});
}

template <typename Call, typename Read>
std::invoke_result_t<Call, StreamTap> capture_stream(Client& client, std::string_view provider,
                                                     std::string_view model, StreamFormat format, Call&& call,
                                                     Read&& read) {
  return capture_stream(client, provider, model, format, CallOptions{}, std::forward<Call>(call),
                        std::forward<Read>(read));
}

template <typename Call>
std::invoke_result_t<Call, StreamTap> capture_stream(Client& client, std::string_view provider,
                                                     std::string_view model, StreamFormat format, Call&& call) {
  return capture_stream(client, provider, model, format, CallOptions{}, std::forward<Call>(call),
                        [](auto&&...) {});
}

}  // namespace opsmeter
