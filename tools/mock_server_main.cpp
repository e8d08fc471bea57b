// opsmeter-mock-server: the mock ingest server as a program, for manual runs and scripts.
// `opsmeter-mock-server --help` lists its flags and defaults.
#include <getopt.h>
#include <opsmeter/testing/mock_ingest_server.hpp>
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace {

constexpr const char* kHelp = R"(usage: opsmeter-mock-server [FLAGS]

A local mock of the Opsmeter ingest API: POST /v1/ingest/llm-request (one stored row per
externalRequestId), GET /v1/diagnostics/workspace-status, GET /__stats (what it received, as
JSON) and POST /__reset. It also plays a fake LLM provider for examples: POST
/v1/chat/completions (OpenAI Chat Completions, SSE with "stream": true; llama.cpp's shape
with "cache_prompt": true), POST /v1/responses (OpenAI Responses, its events when streamed)
and POST /api/chat (Ollama, NDJSON stream unless "stream": false); request headers
X-Mock-Delay-Ms and X-Mock-Status add a delay or an error. It prints "listening on
http(s)://HOST:PORT" once bound and serves until SIGINT or SIGTERM.

  --host H               address to bind (default 127.0.0.1)
  --port P               port (default 0: a free port, printed and written to --port-file)
  --port-file F          write the bound port to F
  --api-key K            the X-API-Key it accepts; others get 401 (default test-key)
  --tls-cert PEM --tls-key PEM
                         serve HTTPS with this certificate chain and key (default: plain HTTP)
  --plan-limit N         answer 402 plan_limit_reached once N records are stored (default: none)
  --fail-fraction F      answer --fail-status to a fraction F of requests, 0 to 1 (default 0)
  --fail-status S        the status of those failures (default 503)
  --throttle-fraction F  answer 429 with Retry-After to a fraction F of requests (default 0)
  --throttle-every N     answer 429 to every Nth request (default: never)
  --retry-after V        the Retry-After value of those 429s (default 1)
  --delay-ms D           wait D ms before answering each request (default 0)
  --rate-limit R         a per-key rate limit: a token bucket refilled at R requests/s;
                         a request that finds it empty gets 429 with Retry-After: 1 (default: none)
  --rate-burst B         the bucket's depth (default 50)
  --never-answer         accept requests and never answer them
  --no-tcp-nodelay       leave Nagle's algorithm on (answers go out in two segments)
  -h, --help             this text

Flags take their value as --flag VALUE or --flag=VALUE; numbers are checked whole and in range.
Exit status: 0 after a stop signal, 2 for bad flags or values, or when it cannot bind.
)";

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr, "opsmeter-mock-server: %s\nrun `opsmeter-mock-server --help` for usage\n", problem.c_str());
  std::exit(2);
}

// A flag's number, parsed whole (no trailing text, no overflow) and within [low, high];
// anything else exits 2 naming the flag.
long long whole_number(const char* flag, const char* text, long long low, long long high) {
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || errno == ERANGE || value < low || value > high) {
    usage(std::string(flag) + " needs a whole number from " + std::to_string(low) + " to " + std::to_string(high) +
          ", not \"" + text + "\"");
  }
  return value;
}

double real_number(const char* flag, const char* text, double low, double high) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  if (end == text || *end != '\0' || errno == ERANGE || !(value >= low && value <= high)) {
    usage(std::string(flag) + " needs a number from " + std::to_string(low) + " to " + std::to_string(high) +
          ", not \"" + text + "\"");
  }
  return value;
}

enum Flag : int {
  kHost = 256, kPort, kApiKey, kPortFile, kPlanLimit, kFailFraction, kFailStatus, kThrottleFraction,
  kRetryAfter, kDelayMs, kNeverAnswer, kThrottleEvery, kRateLimit, kRateBurst, kNoTcpNodelay, kTlsCert, kTlsKey
};

}  // namespace

int main(int argc, char** argv) {
  using opsmeter::testing::Fault;
  opsmeter::testing::MockIngestOptions options;
  std::string port_file;
  long long plan_limit = -1;
  double fail_fraction = 0, throttle_fraction = 0;
  int fail_status = 503, delay_ms = 0;
  std::string retry_after = "1";
  bool never_answer = false;
  int throttle_every = 0;
  double rate_limit = 0, rate_burst = 50;
  static const option kFlags[] = {
      {"host", required_argument, nullptr, kHost},
      {"port", required_argument, nullptr, kPort},
      {"api-key", required_argument, nullptr, kApiKey},
      {"port-file", required_argument, nullptr, kPortFile},
      {"plan-limit", required_argument, nullptr, kPlanLimit},
      {"fail-fraction", required_argument, nullptr, kFailFraction},
      {"fail-status", required_argument, nullptr, kFailStatus},
      {"throttle-fraction", required_argument, nullptr, kThrottleFraction},
      {"retry-after", required_argument, nullptr, kRetryAfter},
      {"delay-ms", required_argument, nullptr, kDelayMs},
      {"never-answer", no_argument, nullptr, kNeverAnswer},
      {"throttle-every", required_argument, nullptr, kThrottleEvery},
      {"rate-limit", required_argument, nullptr, kRateLimit},
      {"rate-burst", required_argument, nullptr, kRateBurst},
      {"no-tcp-nodelay", no_argument, nullptr, kNoTcpNodelay},
      {"tls-cert", required_argument, nullptr, kTlsCert},
      {"tls-key", required_argument, nullptr, kTlsKey},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0}};
  opterr = 0;  // the messages below name the flag
  for (;;) {
    const int flag = getopt_long(argc, argv, ":h", kFlags, nullptr);
    if (flag == -1) break;
    const char* name = argv[optind - 1];
    switch (flag) {
      case 'h': std::fputs(kHelp, stdout); return 0;
      case kHost: options.host = optarg; break;
      case kPort: options.port = static_cast<int>(whole_number("--port", optarg, 0, 65535)); break;
      case kApiKey: options.api_key = optarg; break;
      case kPortFile: port_file = optarg; break;
      case kPlanLimit: plan_limit = whole_number("--plan-limit", optarg, 0, 1LL << 40); break;
      case kFailFraction: fail_fraction = real_number("--fail-fraction", optarg, 0, 1); break;
      case kFailStatus: fail_status = static_cast<int>(whole_number("--fail-status", optarg, 100, 599)); break;
      case kThrottleFraction: throttle_fraction = real_number("--throttle-fraction", optarg, 0, 1); break;
      case kRetryAfter: retry_after = optarg; break;
      case kDelayMs: delay_ms = static_cast<int>(whole_number("--delay-ms", optarg, 0, 3600000)); break;
      case kNeverAnswer: never_answer = true; break;
      case kThrottleEvery: throttle_every = static_cast<int>(whole_number("--throttle-every", optarg, 1, 1000000)); break;
      case kRateLimit: rate_limit = real_number("--rate-limit", optarg, 0, 1e9); break;
      case kRateBurst: rate_burst = real_number("--rate-burst", optarg, 1, 1e9); break;
      case kNoTcpNodelay: options.tcp_nodelay = false; break;
      case kTlsCert: options.tls_cert_file = optarg; break;
      case kTlsKey: options.tls_key_file = optarg; break;
      case ':': usage(std::string("missing value for ") + name);
      default: usage(std::string("unknown option ") + name);
    }
  }
  if (optind < argc) usage(std::string("unexpected argument ") + argv[optind]);

  // Block the stop signals before any thread starts, then wait for one of them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  opsmeter::testing::MockIngestServer server(options);
  if (!server.start()) usage(server.last_error().c_str());
  if (plan_limit >= 0) server.set_plan_limit(plan_limit);
  if (fail_fraction > 0) server.set_fault_fraction(Fault::http_status(fail_status), fail_fraction);
  if (throttle_fraction > 0) server.set_fault_fraction(Fault::throttle(retry_after), throttle_fraction);
  if (delay_ms > 0) server.set_fault_fraction(Fault::delay_for(std::chrono::milliseconds(delay_ms)), 1.0);
  if (never_answer) server.set_fault_fraction(Fault::never_answer(), 1.0);
  if (throttle_every > 0) server.set_fault_every(Fault::throttle(retry_after), throttle_every);
  if (rate_limit > 0) server.set_rate_limit(rate_limit, rate_burst);
  if (!port_file.empty()) {
    std::ofstream(port_file) << server.port() << "\n";
  }
  const bool tls = !options.tls_cert_file.empty() && !options.tls_key_file.empty();
  std::printf("listening on %s://%s:%d (api key \"%s\")\n", tls ? "https" : "http",
              options.host.c_str(), server.port(),
              options.api_key.c_str());
  std::fflush(stdout);
  int received = 0;
  sigwait(&stop_signals, &received);
  server.stop();
  return 0;
}
