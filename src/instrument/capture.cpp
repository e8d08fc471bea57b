// The outcome of a provider's HTTP answer, for opsmeter::capture's read functions.
#include "opsmeter/capture.hpp"

#include <string>

namespace opsmeter {

CallOutcome http_outcome(long status, std::string_view body, Extractor extract) noexcept {
  CallOutcome out;
  try {
    if (extract != nullptr && !body.empty()) out.response = extract(body);
    if (status >= 200 && status <= 299) return out;
    if (status <= 0) {
      out.error_code = "provider_unreachable";
    } else if (status == 408 || status == 504) {
      out.error_code = "provider_timeout";
    } else if (status == 429) {
      out.error_code = "rate_limited";
    } else {
      out.error_code = "provider_http_" + std::to_string(status);
    }
    // An error body carries no usage for the call; its model and id are kept.
    out.response.has_usage = false;
  } catch (...) {
    // Only allocation can fail; the outcome is then an unexplained success or failure.
  }
  return out;
}

}  // namespace opsmeter
