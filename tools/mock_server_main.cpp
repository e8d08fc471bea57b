// opsmeter-mock-server: the mock ingest server as a program, for manual runs and scripts.
// `opsmeter-mock-server --help` lists its flags and defaults.
#include <opsmeter/testing/mock_ingest_server.hpp>
#include <signal.h>

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

Exit status: 0 after a stop signal, 2 for bad flags or when it cannot bind.
)";

[[noreturn]] void usage(const char* problem) {
  std::fprintf(stderr, "opsmeter-mock-server: %s\nrun `opsmeter-mock-server --help` for usage\n", problem);
  std::exit(2);
}

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
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + arg).c_str());
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (arg == "--host") options.host = value();
    else if (arg == "--port") options.port = std::atoi(value().c_str());
    else if (arg == "--api-key") options.api_key = value();
    else if (arg == "--port-file") port_file = value();
    else if (arg == "--plan-limit") plan_limit = std::atoll(value().c_str());
    else if (arg == "--fail-fraction") fail_fraction = std::atof(value().c_str());
    else if (arg == "--fail-status") fail_status = std::atoi(value().c_str());
    else if (arg == "--throttle-fraction") throttle_fraction = std::atof(value().c_str());
    else if (arg == "--retry-after") retry_after = value();
    else if (arg == "--delay-ms") delay_ms = std::atoi(value().c_str());
    else if (arg == "--never-answer") never_answer = true;
    else if (arg == "--throttle-every") throttle_every = std::atoi(value().c_str());
    else if (arg == "--rate-limit") rate_limit = std::atof(value().c_str());
    else if (arg == "--rate-burst") rate_burst = std::atof(value().c_str());
    else if (arg == "--no-tcp-nodelay") options.tcp_nodelay = false;
    else if (arg == "--tls-cert") options.tls_cert_file = value();
    else if (arg == "--tls-key") options.tls_key_file = value();
    else usage(("unknown option " + arg).c_str());
  }

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
