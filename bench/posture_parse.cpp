// posture_parse: nanoseconds per read of an ingest answer's posture, by the SAX reader the
// worker uses (src/delivery/posture.cpp) and by a whole nlohmann document (the reference in
// tests/fuzz/posture_oracle.hpp), for a posture body and for nghttpd --echo-upload's answer
// (the ~370-byte record itself). Three rounds of 200,000 reads each; one JSON line per round.
#include <chrono>
#include <cstdio>
#include <string>

#include "delivery/posture.hpp"
#include "posture_oracle.hpp"

namespace {

template <typename Read>
double ns_per_read(const std::string& body, Read read) {
  constexpr int kReads = 200000;
  std::size_t kept = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kReads; ++i) {
    const auto posture = read(body);
    kept += posture ? posture->plan_tier.size() + 1 : 0;
  }
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  if (kept == 0) std::fprintf(stderr, "posture_parse: nothing read\n");
  return ns / kReads;
}

}  // namespace

int main() {
  const std::string posture =
      R"({"ok":true,"planTier":"free","telemetryPaused":false,"providerCallsContinue":true,)"
      R"("isPlanLimitReached":false,"planLimitRequests":10000,"freeLimitRemainingRequests":8231,"warnings":[]})";
  const std::string echo =
      R"({"externalRequestId":"ext_0123456789abcdef0123456789abcdef","provider":"openai","model":"gpt-4o-mini",)"
      R"("promptVersion":"summary_v3","endpointTag":"checkout.ai_summary","inputTokens":120,"outputTokens":45,)"
      R"("totalTokens":165,"latencyMs":820,"status":"success","errorCode":null,"userId":null,"dataMode":"real",)"
      R"("environment":"prod","metadata":{"sdkLanguage":"cpp","sdkVersion":"0.2.0"}})";
  const auto sax = [](const std::string& b) { return opsmeter::detail::parse_posture(b); };
  const auto document = [](const std::string& b) { return opsmeter::detail::posture_from_document(b); };
  for (int round = 0; round < 3; ++round) {
    std::printf("{\"posture_body\":{\"sax_ns\":%.0f,\"document_ns\":%.0f},\"echo_body\":{\"sax_ns\":%.0f,\"document_ns\":%.0f}}\n",
                ns_per_read(posture, sax), ns_per_read(posture, document), ns_per_read(echo, sax),
                ns_per_read(echo, document));
  }
  return 0;
}
