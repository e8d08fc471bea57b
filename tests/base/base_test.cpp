// The base layer's helpers alone: text (trim, trace ids, UTF-8 cuts, log-safe text),
// saturating arithmetic, the clocks, and the logger (level filter, a sink that throws).
#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/saturate.hpp"
#include "base/text.hpp"

namespace opsmeter::detail {
namespace {

TEST(BaseText, TrimRemovesAsciiWhiteSpaceOnly) {
  EXPECT_EQ(trim(" \t\r\n\f\vx y \n"), "x y");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("   "), "");
  EXPECT_EQ(trim("\xC2\xA0x"), "\xC2\xA0x");  // a no-break space is not ASCII white space
}

TEST(BaseText, TraceIdsAreLowerCaseHexOfTheirLengthAndNotAllZero) {
  EXPECT_TRUE(is_trace_hex("4bf92f3577b34da6a3ce929d0e0e4736", 32));
  EXPECT_FALSE(is_trace_hex("4BF92F3577B34DA6A3CE929D0E0E4736", 32));
  EXPECT_FALSE(is_trace_hex("00000000000000000000000000000000", 32));
  EXPECT_FALSE(is_trace_hex("00f067aa0ba902b7", 32));
  EXPECT_TRUE(is_trace_hex("00f067aa0ba902b7", 16));
  EXPECT_FALSE(is_trace_hex("00f067aa0ba902bg", 16));
}

TEST(BaseText, Utf8PrefixNeverSplitsASequence) {
  const std::string text = "ab\xE2\x82\xAC" "cd";  // "ab€cd": the euro sign is 3 bytes
  EXPECT_EQ(utf8_prefix(text, 100), text);
  EXPECT_EQ(utf8_prefix(text, 2), "ab");
  EXPECT_EQ(utf8_prefix(text, 3), "ab");
  EXPECT_EQ(utf8_prefix(text, 4), "ab");
  EXPECT_EQ(utf8_prefix(text, 5), "ab\xE2\x82\xAC");
  EXPECT_EQ(utf8_prefix(text, 0), "");
}

TEST(BaseText, LogSafeEscapesControlBytesAndCaps) {
  EXPECT_EQ(log_safe("plain text"), "plain text");
  EXPECT_EQ(log_safe("line\r\nforged: yes"), "line\\x0d\\x0aforged: yes");
  EXPECT_EQ(log_safe("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(log_safe("back\\slash"), "back\\\\slash");
  EXPECT_EQ(log_safe(std::string(10, 'x'), 4), "xxxx...(6 more bytes)");
}

TEST(BaseSaturate, AddsOrStopsAtTheLimit) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(add_saturated(2, 3), 5);
  EXPECT_EQ(add_saturated(kMax, 1), kMax);
  EXPECT_EQ(add_saturated(kMax - 1, kMax), kMax);
  EXPECT_EQ(add_saturated(kMin, -1), kMin);
  EXPECT_EQ(add_saturated(kMin, kMax), -1);
}

TEST(BaseClock, TheCoarseClockIsOnTheSteadyClocksLine) {
  // The coarse clock trails the steady clock by less than a tick, never leads it.
  const TimePoint before = Clock::now();
  const TimePoint coarse = coarse_now();
  const TimePoint after = Clock::now();
  EXPECT_LE(coarse, after);
  EXPECT_GT(coarse, before - std::chrono::milliseconds(100));
  EXPECT_EQ(to_ns(TimePoint(std::chrono::nanoseconds(1234567))), 1234567);
}

TEST(BaseLog, FiltersByLevelAndSurvivesASinkThatThrows) {
  std::vector<std::string> lines;
  Logger logger(LogLevel::kWarn, [&](LogLevel level, std::string_view line) {
    if (line == "throw") throw std::runtime_error("sink failed");
    lines.push_back(std::string(to_string(level)) + " " + std::string(line));
  });
  EXPECT_FALSE(logger.enabled(LogLevel::kInfo));
  EXPECT_TRUE(logger.enabled(LogLevel::kError));
  logger.log(LogLevel::kDebug, "hidden");
  logger.log(LogLevel::kInfo, "hidden");
  logger.log(LogLevel::kWarn, "shown");
  logger.log(LogLevel::kError, "throw");
  logger.log(LogLevel::kError, "after");
  EXPECT_EQ(lines, (std::vector<std::string>{"warn shown", "error after"}));
  EXPECT_EQ(logger.sink_errors(), 1u);
}

}  // namespace
}  // namespace opsmeter::detail
