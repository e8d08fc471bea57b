// Records with any bytes in their strings and any numbers: a record that validates always
// serializes to JSON that nlohmann parses, and each string field reads back as sent when it
// was valid UTF-8.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_input.hpp"
#include "opsmeter/serialize.hpp"
#include "opsmeter/validation.hpp"
#include "record/utf8_json.hpp"

namespace {

bool valid_utf8(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = opsmeter::detail::utf8_sequence_length(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  opsmeter::fuzz::Input in(data, size);
  opsmeter::LlmCallRecord r;
  r.external_request_id = in.text();
  r.provider = in.text(80);
  r.model = in.text(160);
  r.prompt_version = in.text();
  r.endpoint_tag = in.text();
  r.input_tokens = in.integer();
  r.output_tokens = in.integer();
  if (in.byte() & 1) r.total_tokens = in.integer();
  r.latency_ms = in.integer();
  if (in.byte() & 1) r.user_id = in.text();
  if (in.byte() & 1) r.error_code = in.text();
  r.metadata.tenant_id = in.text();
  for (int i = in.byte() % 4; i > 0; --i) {
    const std::string key = in.text(70);
    switch (in.byte() % 4) {
      case 0: r.metadata.extra.emplace_back(key, in.text()); break;
      case 1: r.metadata.extra.emplace_back(key, in.integer()); break;
      case 2: r.metadata.extra.emplace_back(key, static_cast<double>(in.integer()) / 7.0); break;
      default: r.metadata.extra.emplace_back(key, (in.byte() & 1) != 0); break;
    }
  }
  const std::string body = opsmeter::to_json(r);
  if (!opsmeter::validate(r).ok()) return 0;
  if (body.empty()) std::abort();
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) std::abort();
  if (valid_utf8(r.external_request_id) && doc["externalRequestId"] != r.external_request_id) std::abort();
  if (valid_utf8(r.model) && doc["model"] != r.model) std::abort();
  return 0;
}
