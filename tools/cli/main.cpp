// opsmeter: the command line tool. `opsmeter --help` lists the commands, flags and exit codes.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "cli.hpp"
#include "opsmeter/version.hpp"

namespace {

using namespace opsmeter::cli;

constexpr const char* kHelp = R"(usage: opsmeter COMMAND [FLAGS] [FILE]

Commands:
  doctor          the first-ingest checklist: API key, base URL, DNS, TCP, TLS, workspace
                  status, one test record (dataMode "test") confirmed with ok: true
  status          the workspace status (plan, budget, whether telemetry is paused)
  send [FILE|-]   send records, one JSON object per line in the ingest wire format,
                  through a Client; prints delivered and dropped by reason
  validate [FILE|-]
                  check records offline, as record() would; prints each bad line's error

Configuration comes from the OPSMETER_* environment variables (OPSMETER_API_KEY,
OPSMETER_API_BASE_URL, OPSMETER_CA_BUNDLE, ...; see the README), overridden by:
  --api-key KEY       the workspace API key (prefer OPSMETER_API_KEY: flags show in ps)
  --base-url URL      the API's base URL, without /v1 (default https://api.opsmeter.io)
  --ca-bundle FILE    trust the CAs in this PEM file instead of the system store
  --timeout-ms N      how long checks and delivery may take, in ms (default 10000)
  --json              one JSON object on stdout instead of text
  -v, --verbose       echo the library's log lines to stderr
  -h, --help          this text
  --version           the SDK version

Exit codes:
  0  success: every check passed, every record valid (and delivered, for send)
  1  a check failed, or some records were invalid or not delivered
  2  bad arguments, or the input could not be read
  3  status: reachable and authorized, but telemetry is paused (plan limit)
)";

int usage_error(const std::string& problem) {
  std::fprintf(stderr, "opsmeter: %s\nrun `opsmeter --help` for usage\n", problem.c_str());
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  std::string command;
  Settings settings;
  std::string api_key, base_url, ca_bundle;
  bool have_api_key = false, have_base_url = false, have_ca_bundle = false, have_input = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kHelp, stdout);
      return kExitOk;
    } else if (arg == "--version") {
      std::printf("opsmeter %s\n", std::string(opsmeter::version()).c_str());
      return kExitOk;
    } else if (arg == "--json") {
      settings.json = true;
    } else if (arg == "-v" || arg == "--verbose") {
      settings.verbose = true;
    } else if (arg == "--api-key") {
      if (!(have_api_key = value(api_key))) return usage_error("--api-key needs a value");
    } else if (arg == "--base-url") {
      if (!(have_base_url = value(base_url))) return usage_error("--base-url needs a value");
    } else if (arg == "--ca-bundle") {
      if (!(have_ca_bundle = value(ca_bundle))) return usage_error("--ca-bundle needs a value");
    } else if (arg == "--timeout-ms") {
      std::string text;
      if (!value(text)) return usage_error("--timeout-ms needs a value");
      char* end = nullptr;
      const long long ms = std::strtoll(text.c_str(), &end, 10);
      if (end == text.c_str() || *end != '\0' || ms < 1 || ms > 3600000) {
        return usage_error("--timeout-ms must be a whole number of milliseconds, 1 to 3600000");
      }
      settings.timeout = std::chrono::milliseconds(ms);
    } else if (arg.size() > 1 && arg[0] == '-' && arg != "-") {
      return usage_error("unknown flag " + arg);
    } else if (command.empty()) {
      command = arg;
    } else if (!have_input && (command == "send" || command == "validate")) {
      settings.input = arg;
      have_input = true;
    } else {
      return usage_error("unexpected argument " + arg);
    }
  }
  if (command.empty()) return usage_error("no command given");

  settings.log = std::make_shared<LogBook>(settings.verbose);
  opsmeter::Options base;
  base.log_level = settings.verbose ? opsmeter::LogLevel::kDebug : opsmeter::LogLevel::kInfo;
  base.on_log = [log = settings.log](opsmeter::LogLevel level, std::string_view line) { log->add(level, line); };
  settings.options = opsmeter::Options::from_environment(base);
  if (have_api_key) settings.options.api_key = api_key;
  if (have_base_url) settings.options.base_url = base_url;
  if (have_ca_bundle) settings.options.ca_bundle = ca_bundle;

  if (command == "doctor") return doctor(settings, std::cout);
  if (command == "status") return status(settings, std::cout);
  if (command == "send") return send(settings, std::cout);
  if (command == "validate") return validate(settings, std::cout);
  return usage_error("unknown command " + command);
}
