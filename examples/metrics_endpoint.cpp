// The client's figures for Prometheus: a cpp-httplib server answers GET /metrics with
// opsmeter::to_prometheus_text(stats, status). Your service already has an HTTP server; the
// handler is the three lines marked below.
//
// Environment: OPSMETER_API_KEY and OPSMETER_API_BASE_URL; METRICS_PORT (default 9464; 0 picks
// a free port); EXAMPLE_SCRAPES=N ends the program after N scrapes (the test suite uses it).
#include <httplib.h>
#include <opsmeter/opsmeter.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

int main() {
  opsmeter::Client client(opsmeter::Options::from_environment());
  for (int i = 0; i < 3; ++i) {  // three calls to report
    opsmeter::CallScope call = client.start_call("openai", "gpt-4o-mini");
    opsmeter::Usage usage;
    usage.input_tokens = 120;
    usage.output_tokens = 30;
    call.set_usage(usage);
  }
  client.flush(std::chrono::seconds(5));

  const char* port_text = std::getenv("METRICS_PORT");
  const char* scrapes_text = std::getenv("EXAMPLE_SCRAPES");
  const int wanted = scrapes_text ? std::atoi(scrapes_text) : 0;
  std::mutex mu;
  std::condition_variable scraped;
  int scrapes = 0;

  httplib::Server server;
  server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    // --- the handler: the client's figures in the text exposition format
    res.set_content(opsmeter::to_prometheus_text(client.stats(), client.status(), "service=\"example\""),
                    std::string(opsmeter::kPrometheusContentType));
    // ---
    std::lock_guard<std::mutex> lock(mu);
    ++scrapes;
    scraped.notify_all();
  });
  const int asked = port_text ? std::atoi(port_text) : 9464;
  const int port = asked == 0 ? server.bind_to_any_port("127.0.0.1") : (server.bind_to_port("127.0.0.1", asked) ? asked : -1);
  if (port <= 0) {
    std::fprintf(stderr, "cannot bind 127.0.0.1:%d\n", asked);
    return 1;
  }
  std::printf("metrics at http://127.0.0.1:%d/metrics\n", port);
  std::fflush(stdout);
  std::thread serving([&] { server.listen_after_bind(); });
  if (wanted > 0) {
    std::unique_lock<std::mutex> lock(mu);
    scraped.wait(lock, [&] { return scrapes >= wanted; });
    lock.unlock();
    server.stop();
  }
  serving.join();
  return 0;
}
