// Options are validated once into a Config; everything downstream reads only the Config.
#pragma once

#include <string>
#include <vector>

#include "opsmeter/client.hpp"
#include "policy.hpp"

namespace opsmeter::detail {

struct Config {
  Options options;             // normalised copy (trimmed URL, clamped numbers)
  std::string ingest_url;      // {base_url}/v1/ingest/llm-request
  PolicyConfig policy;
  std::string disabled_reason;            // non-empty: the client must stay disabled
  std::vector<std::string> warnings;      // adjustments made while normalising, to be logged
};

// Never throws except std::bad_alloc.
Config finalize_options(Options options);

}  // namespace opsmeter::detail
