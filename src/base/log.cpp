// Logging and the enum names shared by the public client API.
#include "base/log.hpp"

#include <cstdio>

namespace opsmeter {

std::string_view to_string(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "unknown";
}

namespace detail {

void Logger::log(LogLevel level, std::string_view message) noexcept {
  if (!enabled(level)) return;
  if (!sink_) {
    const std::string_view name = to_string(level);
    std::fprintf(stderr, "[opsmeter] %.*s: %.*s\n", static_cast<int>(name.size()), name.data(),
                 static_cast<int>(message.size()), message.data());
    return;
  }
  try {
    sink_(level, message);
  } catch (...) {
    sink_errors_.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace detail
}  // namespace opsmeter
