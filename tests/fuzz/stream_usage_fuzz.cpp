// Streams (server-sent events, Ollama NDJSON) in any chunking: StreamUsage gives the same result whether the
// bytes arrive at once or split at the points the input chooses.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_input.hpp"
#include "opsmeter/usage.hpp"

namespace {

bool same(const opsmeter::ProviderResponse& a, const opsmeter::ProviderResponse& b) {
  return a.has_usage == b.has_usage && a.model == b.model && a.id == b.id && a.error == b.error &&
         a.usage.input_tokens == b.usage.input_tokens && a.usage.output_tokens == b.usage.output_tokens &&
         a.usage.total_tokens == b.usage.total_tokens &&
         a.usage.cached_input_tokens == b.usage.cached_input_tokens &&
         a.usage.cache_creation_input_tokens == b.usage.cache_creation_input_tokens &&
         a.usage.reasoning_tokens == b.usage.reasoning_tokens;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  opsmeter::fuzz::Input in(data, size);
  constexpr opsmeter::StreamFormat kFormats[] = {
      opsmeter::StreamFormat::kOpenAiChat, opsmeter::StreamFormat::kAnthropicMessages,
      opsmeter::StreamFormat::kOpenAiResponses, opsmeter::StreamFormat::kGeminiSse,
      opsmeter::StreamFormat::kOllamaNdjson};
  const auto format = kFormats[in.byte() % 5];
  std::vector<std::size_t> cuts;
  for (int i = in.byte() % 8; i > 0; --i) cuts.push_back(in.byte());
  const std::string stream(in.rest());

  opsmeter::StreamUsage whole(format);
  whole.feed(stream);
  opsmeter::StreamUsage pieces(format);
  std::size_t at = 0;
  for (std::size_t cut : cuts) {
    const std::size_t n = cut < stream.size() - at ? cut : stream.size() - at;
    pieces.feed(std::string_view(stream).substr(at, n));
    at += n;
  }
  pieces.feed(std::string_view(stream).substr(at));
  if (!same(whole.result(), pieces.result())) std::abort();
  return 0;
}
