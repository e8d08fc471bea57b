// opsmeter/testing/support.hpp: small helpers for tests and benchmarks of instrumented code.
//
// - sample_record(): a valid, realistic record (the canonical "openai real" payload's values)
//   with a fresh externalRequestId, for tests that need one and do not care about its fields.
// - unused_loopback_port(): a 127.0.0.1 port where nothing listens (bound once to learn a free
//   number, then closed), for "the ingest server is down" tests. Another process could take
//   the port in between; on a test machine that is rare, and a test then sees a refusal or an
//   unexpected answer, never a hang.
// - connections_to(port): how many sockets of this process are connected, as clients, to
//   `port` (IPv4; read from /proc/self/fd, so Linux only). For tests about connection reuse
//   and cleanup.
// Link `opsmeter::testing`.
#pragma once

#include <cstddef>
#include <string>

#include "opsmeter/export.hpp"
#include "opsmeter/record.hpp"

namespace opsmeter::testing {

OPSMETER_API LlmCallRecord sample_record();
OPSMETER_API LlmCallRecord sample_record(std::string external_request_id);
OPSMETER_API int unused_loopback_port();
OPSMETER_API std::size_t connections_to(int port);

}  // namespace opsmeter::testing
