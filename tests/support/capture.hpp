// Small helpers shared by the integration tests: a log sink that keeps every line, a scoped
// environment variable, and a condition wait with a deadline.
#pragma once

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "opsmeter/client.hpp"

namespace opsmeter::test {

// Keeps every log line the client produces. Install with `options.on_log = capture.sink();`
// and keep the capture alive longer than the client.
class LogCapture {
 public:
  Callback<void(LogLevel, std::string_view)> sink() {
    return [this](LogLevel level, std::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.emplace_back(line);
      levels_.push_back(level);
    };
  }
  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  // Lines that contain `needle`.
  std::size_t count(std::string_view needle) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::size_t n = 0;
    for (const std::string& line : lines_) n += line.find(needle) != std::string::npos;
    return n;
  }
  // Lines logged at `level`.
  std::size_t count_at(LogLevel level) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::size_t n = 0;
    for (LogLevel l : levels_) n += l == level;
    return n;
  }
  // Every line, each ending with '\n' (for failure messages).
  std::string text() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string all;
    for (const std::string& line : lines_) all += line + "\n";
    return all;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
  std::vector<LogLevel> levels_;
};

// Sets (or, with nullptr, unsets) an environment variable for one test and restores it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    if (value) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (had_) {
      setenv(name_, old_.c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

// Polls `predicate` until it holds or `timeout` passes; returns its last value.
template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace opsmeter::test
