// Provider response bodies: the six usage extractors never throw or overflow (UBSan), and
// every count they report is non-negative.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz_input.hpp"
#include "opsmeter/usage.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  opsmeter::fuzz::Input in(data, size);
  const std::uint8_t which = in.byte();
  const std::string_view body = in.rest();
  opsmeter::ProviderResponse r;
  switch (which % 6) {
    case 0: r = opsmeter::extract_openai_chat(body); break;
    case 1: r = opsmeter::extract_openai_responses(body); break;
    case 2: r = opsmeter::extract_anthropic(body); break;
    case 3: r = opsmeter::extract_gemini(body); break;
    case 4: r = opsmeter::extract_ollama(body); break;
    default: r = opsmeter::extract_bedrock_converse(body); break;
  }
  const opsmeter::Usage& u = r.usage;
  if (u.input_tokens < 0 || u.output_tokens < 0 || u.cached_input_tokens < 0 ||
      u.cache_creation_input_tokens < 0 || u.reasoning_tokens < 0 || (u.total_tokens && *u.total_tokens < 0)) {
    std::abort();
  }
  if (r.has_usage && !r.error.empty()) std::abort();  // usage found: no error
  return 0;
}
