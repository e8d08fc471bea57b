// OPSMETER_* values from the environment: from_environment() parses any bytes without
// throwing, and checking the result into a Config (what a Client does first) never throws.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz_input.hpp"
#include "delivery/options.hpp"
#include "instrument/env_config.hpp"
#include "opsmeter/client.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  opsmeter::fuzz::Input in(data, size);
  const auto& registry = opsmeter::detail::env_registry();
  for (const auto& variable : registry) unsetenv(std::string(variable.name).c_str());
  while (!in.empty()) {
    const auto& variable = registry[in.byte() % registry.size()];
    const std::string value = in.text();
    if (value.find('\0') != std::string::npos) continue;
    setenv(std::string(variable.name).c_str(), value.c_str(), 1);
  }
  opsmeter::Options base;
  base.on_log = [](opsmeter::LogLevel, std::string_view) {};
  const opsmeter::Options options = opsmeter::Options::from_environment(base);
  const opsmeter::detail::Config config = opsmeter::detail::finalize_options(options);
  if (config.options.timeout < std::chrono::milliseconds(300)) std::abort();
  return 0;
}
