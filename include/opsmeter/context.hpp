// opsmeter/context.hpp: attribution fields set once for a block of code.
//
// A ContextGuard sets endpointTag, promptVersion, userId, tenantId, dataMode, environment and
// metadata for every call started (Client::start_call) on this thread while it lives. Guards
// nest: an inner guard overrides only the fields it sets, so an unset field never erases the
// outer value, and metadata merges key by key (inner wins). The previous context comes back
// when the guard is destroyed. Values given explicitly to start_call win over the context.
//
// Context is thread-local: it does not follow work onto another thread. To carry it to a
// thread pool or a callback, capture it with current_context() and re-apply it there:
//
//   opsmeter::Context captured = opsmeter::current_context();
//   pool.submit([captured] { opsmeter::ContextGuard g(captured); /* ... */ });
//
// Nothing here throws; if memory runs out a guard applies nothing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opsmeter/export.hpp"
#include "opsmeter/record.hpp"

namespace opsmeter {

// The W3C Trace Context ids of the request being served, so that a cost record can be tied to
// its trace: sent as metadata `traceId` (32 lower-case hex digits) and `spanId` (16).
struct TraceIds {
  std::string trace_id;
  std::string span_id;
};

// Parses a W3C `traceparent` header, "00-<trace id>-<span id>-<flags>" (lower-case hex). nullopt
// when it is malformed, an id is all zeros, or the version is ff. A later version may carry
// more fields after the flags; they are ignored. No dependency on any tracing library: with
// OpenTelemetry, pass the current span's ids (or its propagated header) here.
OPSMETER_API std::optional<TraceIds> parse_traceparent(std::string_view header) noexcept;

struct Context {
  std::optional<std::string> endpoint_tag;
  std::optional<std::string> prompt_version;
  std::optional<std::string> user_id;
  std::optional<std::string> tenant_id;
  std::optional<std::string> feature;   // metadata.feature: the product feature that made the call
  std::optional<std::string> endpoint;  // metadata.endpoint: the route or provider endpoint called
  std::optional<DataMode> data_mode;
  std::optional<Environment> environment;
  std::optional<TraceIds> trace;  // ids that are not valid trace context are not sent
  std::vector<std::pair<std::string, MetadataValue>> metadata;
};

// A copy of this thread's current (merged) context.
OPSMETER_API Context current_context() noexcept;

class OPSMETER_API ContextGuard {
 public:
  explicit ContextGuard(const Context& context) noexcept;
  ~ContextGuard();
  ContextGuard(const ContextGuard&) = delete;
  ContextGuard& operator=(const ContextGuard&) = delete;

 private:
  Context previous_;
  bool applied_ = false;
};

}  // namespace opsmeter
