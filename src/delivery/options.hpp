// Options are validated once into a Config; everything downstream reads only the Config.
#pragma once

#include <string>
#include <vector>

#include "opsmeter/client.hpp"
#include "delivery/policy.hpp"

namespace opsmeter::detail {

struct Config {
  Options options;             // normalised copy (trimmed URL, clamped numbers)
  std::string ingest_url;      // {base_url}/v1/ingest/llm-request
  std::string proxy;           // options.proxy.url, or the one the environment named at start
  std::string no_proxy;        // likewise
  PolicyConfig policy;
  std::string disabled_reason;            // non-empty: the client must stay disabled
  std::vector<std::string> warnings;      // adjustments made while normalising, to be logged
};

// Settings the public Options do not offer; only the project's tests set them.
struct InternalOptions {
  bool allow_any_timeout = false;  // any timeout from 1 ms to 10 min, not only 300-800 ms
};

// Never throws except std::bad_alloc.
Config finalize_options(Options options, const InternalOptions& internal = {});

// The URL without user name and password, for logs; "(unparseable URL)" if libcurl cannot parse
// it, so that nothing of a malformed one (credentials included) is ever logged.
std::string redact_url(const std::string& url);

// One line for the log when a client starts: where records go, through which proxy, trusting
// which CAs. Never contains the API key or proxy credentials.
std::string describe_delivery(const Config& config);

}  // namespace opsmeter::detail
