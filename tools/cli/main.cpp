// opsmeter: the command line tool. `opsmeter --help` lists the commands, flags and exit codes.
#include <getopt.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

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
Flags take their value as --flag VALUE or --flag=VALUE, before or after the command:
  --api-key KEY       the workspace API key (prefer OPSMETER_API_KEY: flags show in ps)
  --base-url URL      the API's base URL, without /v1 (default https://api.opsmeter.io)
  --ca-bundle FILE    trust the CAs in this PEM file instead of the system store
  --timeout-ms N      how long checks and delivery may take, in ms (default 10000)
  --json              one JSON object on stdout instead of text
  -v, --verbose       echo every log line of the library to stderr (warnings and errors
                      go there anyway, except with --json, which carries them in "log")
  -h, --help          this text
  --version           the SDK version

Exit codes:
  0  success: every check passed, every record valid (and delivered, for send)
  1  a check failed, or some records were invalid or not delivered
  2  bad arguments, or the input could not be read
  3  status: reachable and authorized, but telemetry is paused (plan limit)
)";

int usage_error(const std::string& problem) {
  std::fprintf(stderr, "opsmeter: %s\nrun `opsmeter --help` for usage\n", escape_text(problem).c_str());
  return kExitUsage;
}

enum Flag : int { kApiKey = 256, kBaseUrl, kCaBundle, kTimeoutMs, kJson, kVersion };

int run(int argc, char** argv) {
  static const option kFlags[] = {
      {"api-key", required_argument, nullptr, kApiKey},   {"base-url", required_argument, nullptr, kBaseUrl},
      {"ca-bundle", required_argument, nullptr, kCaBundle}, {"timeout-ms", required_argument, nullptr, kTimeoutMs},
      {"json", no_argument, nullptr, kJson},               {"verbose", no_argument, nullptr, 'v'},
      {"help", no_argument, nullptr, 'h'},                 {"version", no_argument, nullptr, kVersion},
      {nullptr, 0, nullptr, 0}};
  Settings settings;
  std::string api_key, base_url, ca_bundle;
  bool have_api_key = false, have_base_url = false, have_ca_bundle = false;
  opterr = 0;  // the messages below name the flag
  optind = 1;
  for (;;) {
    const int flag = getopt_long(argc, argv, ":vh", kFlags, nullptr);
    if (flag == -1) break;
    switch (flag) {
      case 'h':
        std::fputs(kHelp, stdout);
        return kExitOk;
      case kVersion:
        std::printf("opsmeter %s\n", std::string(opsmeter::version()).c_str());
        return kExitOk;
      case kJson:
        settings.json = true;
        break;
      case 'v':
        settings.verbose = true;
        break;
      case kApiKey:
        api_key = optarg;
        have_api_key = true;
        break;
      case kBaseUrl:
        base_url = optarg;
        have_base_url = true;
        break;
      case kCaBundle:
        ca_bundle = optarg;
        have_ca_bundle = true;
        break;
      case kTimeoutMs: {
        const std::optional<long long> ms = parse_number(optarg, 1, 3600000);
        if (!ms) return usage_error("--timeout-ms must be a whole number of milliseconds, 1 to 3600000");
        settings.timeout = std::chrono::milliseconds(*ms);
        break;
      }
      case ':':
        return usage_error(std::string(argv[optind - 1]) + " needs a value");
      default:
        return usage_error("unknown flag " + std::string(argv[optind - 1]));
    }
  }
  std::vector<std::string> positional(argv + optind, argv + argc);
  if (positional.empty()) return usage_error("no command given");
  const std::string command = positional[0];
  if (command != "doctor" && command != "status" && command != "send" && command != "validate") {
    return usage_error("unknown command " + command);
  }
  const std::size_t inputs = command == "send" || command == "validate" ? 1 : 0;
  if (positional.size() > 1 + inputs) return usage_error("unexpected argument " + positional[1 + inputs]);
  if (positional.size() == 2 && inputs == 1) settings.input = positional[1];

  settings.log = std::make_shared<LogBook>(settings.verbose, settings.json);
  opsmeter::Options base;
  base.log_level = settings.verbose ? opsmeter::LogLevel::kDebug : opsmeter::LogLevel::kInfo;
  base.on_log = [log = settings.log](opsmeter::LogLevel level, std::string_view line) { log->add(level, line); };
  settings.options = opsmeter::Options::from_environment(base);
  if (have_api_key) settings.options.api_key = api_key;
  if (have_base_url) settings.options.base_url = base_url;
  if (have_ca_bundle) settings.options.tls.ca_bundle = ca_bundle;

  if (command == "doctor") return doctor(settings, std::cout);
  if (command == "status") return status(settings, std::cout);
  if (command == "send") return send(settings, std::cout);
  return validate(settings, std::cout);
}

}  // namespace

int main(int argc, char** argv) {
  // The exit codes are 0-3 whatever happens: nothing escapes main.
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "opsmeter: internal error: %s\n", escape_text(e.what()).c_str());
  } catch (...) {
    std::fprintf(stderr, "opsmeter: internal error\n");
  }
  return kExitFailed;
}
