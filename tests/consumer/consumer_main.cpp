// A tiny program that uses an installed opsmeter, built by find_package and by pkg-config.
#include <opsmeter/opsmeter.hpp>

#include <cstdio>

int main() {
  opsmeter::LlmCallRecord record;
  record.external_request_id = opsmeter::deterministic_request_id("order:1001");
  record.provider = "openai";
  record.model = "gpt-4o-mini";
  record.input_tokens = 3;
  record.output_tokens = 4;
  if (!opsmeter::validate(record).ok()) return 1;
  const std::string body = opsmeter::to_json(record);
  std::printf("%s\n", body.c_str());
  return body.find("\"totalTokens\":7") == std::string::npos ? 1 : 0;
}
