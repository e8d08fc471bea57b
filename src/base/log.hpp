// The logger every engine part writes through: level filter, user sink or stderr, and a
// guarantee that a throwing sink never escapes.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "opsmeter/callback.hpp"
#include "opsmeter/log.hpp"

namespace opsmeter::detail {

class Logger {
 public:
  Logger(LogLevel min_level, Callback<void(LogLevel, std::string_view)> sink) noexcept
      : min_level_(min_level), sink_(std::move(sink)) {}

  bool enabled(LogLevel level) const noexcept { return level >= min_level_; }
  void log(LogLevel level, std::string_view message) noexcept;

  // Exceptions thrown by the user's sink, caught here.
  std::uint64_t sink_errors() const noexcept { return sink_errors_.load(std::memory_order_relaxed); }

 private:
  LogLevel min_level_;
  Callback<void(LogLevel, std::string_view)> sink_;
  std::atomic<std::uint64_t> sink_errors_{0};
};

}  // namespace opsmeter::detail
