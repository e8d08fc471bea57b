// The `opsmeter` command line tool: the pieces its commands share.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "opsmeter/check.hpp"
#include "opsmeter/client.hpp"

namespace opsmeter::cli {

using Json = nlohmann::ordered_json;  // keys in the order written

// Exit codes, documented in `opsmeter --help` and the README.
enum Exit : int {
  kExitOk = 0,      // every check passed, every record delivered or valid
  kExitFailed = 1,  // a check failed, or records were invalid or not delivered
  kExitUsage = 2,   // bad arguments, or the input could not be read
  kExitPaused = 3,  // `status`: reachable and authorized, but telemetry is paused
};

// The library's log lines, kept for the JSON output and echoed to stderr with --verbose.
class LogBook {
 public:
  explicit LogBook(bool echo) : echo_(echo) {}
  void add(LogLevel level, std::string_view line);
  std::vector<std::string> lines() const;

 private:
  const bool echo_;
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

struct Settings {
  Options options;  // from OPSMETER_* and then the flags
  bool json = false;
  bool verbose = false;
  std::chrono::milliseconds timeout{10000};  // for checks and for delivery to finish
  std::string input = "-";                   // send / validate: a file, or - for stdin
  std::shared_ptr<LogBook> log;
};

int doctor(const Settings& settings, std::ostream& out);
int send(const Settings& settings, std::ostream& out);
int validate(const Settings& settings, std::ostream& out);
int status(const Settings& settings, std::ostream& out);

// Shared output helpers.
Json to_json(const WorkspaceStatus& status);
Json to_json(const IngestPosture& posture);
std::string summary(const WorkspaceStatus& status);  // "plan Free, severity normal, ..."
std::string summary(const IngestPosture& posture);

// The input lines (without line ends). False, with the reason in `error`, if unreadable.
bool read_lines(const std::string& path, std::vector<std::string>& lines, std::string& error);

}  // namespace opsmeter::cli
