// The `opsmeter` command line tool: the pieces its commands share.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
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

// The library's log lines, kept for the JSON output. Echoed to stderr: every line with
// --verbose; otherwise warnings and errors, unless the output is JSON (which carries them).
class LogBook {
 public:
  LogBook(bool verbose, bool json) : verbose_(verbose), json_(json) {}
  void add(LogLevel level, std::string_view line);
  std::vector<std::string> lines() const;

 private:
  const bool verbose_;
  const bool json_;
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

// Text from outside (a URL, an environment value, a server's words) made safe for one line of
// a terminal: control bytes and bytes that are not valid UTF-8 are written as \xNN.
std::string escape_text(std::string_view text);
// A URL as the tool prints it: no userinfo (user:password@ becomes ***@), every query value
// replaced by ***, and escaped as escape_text does.
std::string display_url(std::string_view url);
// The JSON output: never throws on a string that is not UTF-8 (such bytes are replaced).
std::string dump(const Json& doc);
// A whole decimal number within [low, high], or nothing.
std::optional<long long> parse_number(std::string_view text, long long low, long long high);

// The input lines (without line ends). False, with the reason in `error`, if unreadable.
bool read_lines(const std::string& path, std::vector<std::string>& lines, std::string& error);

}  // namespace opsmeter::cli
