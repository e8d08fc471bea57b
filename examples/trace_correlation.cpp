// Tying each cost record to its trace. A request handler in a service traced with
// OpenTelemetry (or anything that speaks W3C Trace Context) receives a `traceparent` header,
// or has a current span. The handler puts the ids in a ContextGuard, and every provider call
// it makes is recorded with metadata traceId/spanId, so Opsmeter's cost rows join the traces.
// The SDK does not depend on OpenTelemetry. With its C++ API, the ids come from the current
// span:
//   auto ctx = opentelemetry::trace::Tracer::GetCurrentSpan()->GetContext();
//   char trace[32], span[16];
//   ctx.trace_id().ToLowerBase16(trace);
//   ctx.span_id().ToLowerBase16(span);
//   opsmeter::TraceIds ids{std::string(trace, 32), std::string(span, 16)};
#include <opsmeter/opsmeter.hpp>

#include <cstdio>
#include <map>
#include <string>

#include "example_http.hpp"

namespace {

// The incoming request of a handler, as a web framework would hand it over.
struct IncomingRequest {
  std::map<std::string, std::string> headers;
};

void handle(const IncomingRequest& request, opsmeter::Client& client) {
  opsmeter::Context context;
  context.endpoint_tag = "support.reply";
  const auto header = request.headers.find("traceparent");
  if (header != request.headers.end()) context.trace = opsmeter::parse_traceparent(header->second);
  opsmeter::ContextGuard guard(context);  // every call below carries the trace ids

  const std::string url =
      example::env_or("OPENAI_BASE_URL", "http://127.0.0.1:8787/v1") + "/chat/completions";
  opsmeter::CallScope call = client.start_call("openai", "gpt-4o-mini");
  const example::HttpResponse response = example::post_json(
      url, R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}]})",
      example::provider_headers());
  if (response.status == 200) {
    call.set_response(opsmeter::extract_openai_chat(response.body));
  } else {
    call.set_error("provider_http_" + std::to_string(response.status));
  }
  std::printf("recorded %s with traceId %s spanId %s\n", call.id().c_str(),
              call.record().metadata.trace_id.c_str(), call.record().metadata.span_id.c_str());
}

}  // namespace

int main() {
  opsmeter::Client client(opsmeter::Options::from_environment());
  IncomingRequest request;
  request.headers["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  handle(request, client);
  client.flush(std::chrono::seconds(5));
  std::printf("delivered=%llu\n", static_cast<unsigned long long>(client.stats().delivered));
  return client.stats().delivered == 1 ? 0 : 1;
}
