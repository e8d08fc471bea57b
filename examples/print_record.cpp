// Builds the typed record of one LLM call (the canonical "openai real" payload of the official
// examples), validates it and prints the exact JSON body the SDK would send.
#include <opsmeter/opsmeter.hpp>

#include <cstdio>

int main() {
  opsmeter::LlmCallRecord record;
  record.external_request_id = "ext_d6d2e4e3ea72d9f95fdb5e2c";
  record.provider = "openai";
  record.model = "gpt-4o-mini";
  record.prompt_version = "summary_v3";
  record.endpoint_tag = "checkout.ai_summary";
  record.input_tokens = 120;
  record.output_tokens = 45;  // totalTokens is sent as 165: input + output
  record.latency_ms = 820;
  record.data_mode = opsmeter::DataMode::kReal;
  record.environment = opsmeter::Environment::kProd;

  const opsmeter::ValidationError error = opsmeter::validate(record);
  if (!error.ok()) {
    std::fprintf(stderr, "invalid record: %s\n", error.message().c_str());
    return 1;
  }
  std::printf("%s\n", opsmeter::to_json(record).c_str());
  return 0;
}
