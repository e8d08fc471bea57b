// opsmeter/log.hpp: the log levels of Options::log_level and Options::on_log.
#pragma once

#include <cstdint>
#include <string_view>

#include "opsmeter/export.hpp"

namespace opsmeter {

enum class LogLevel : std::uint8_t { kDebug, kInfo, kWarn, kError };
OPSMETER_API std::string_view to_string(LogLevel level) noexcept;

}  // namespace opsmeter
