// llm_service: a thin LLM gateway, the kind of service the SDK goes into. POST /answer calls
// an OpenAI-compatible provider (POST {PROVIDER_URL}/chat/completions with libcurl, one reused
// handle per server thread) inside opsmeter::capture, and returns the provider's answer.
// The SDK is configured from OPSMETER_* (OPSMETER_ENABLED=0: the same service without it).
// bench/service_overhead.sh drives it.
//
//   PROVIDER_URL=http://127.0.0.1:P/v1 OPSMETER_API_BASE_URL=... OPSMETER_API_KEY=... llm_service PORT
// On SIGINT or SIGTERM it stops and prints the client's stats as one JSON line on stderr.
#include <curl/curl.h>
#include <httplib.h>
#include <opsmeter/opsmeter.hpp>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

struct Reply {
  long status = 0;
  std::string body;
};

// One provider call with this thread's handle (connections kept alive between requests).
Reply call_provider(const std::string& url, const std::string& request) {
  thread_local CURL* easy = [] {
    CURL* e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* out) {
      static_cast<std::string*>(out)->append(data, size * n);
      return size * n;
    });
    return e;
  }();
  thread_local curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  Reply reply;
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.size()));
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &reply.body);
  if (curl_easy_perform(easy) == CURLE_OK) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: llm_service PORT (PROVIDER_URL and OPSMETER_* from the environment)\n");
    return 2;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const char* provider = std::getenv("PROVIDER_URL");
  const std::string url = std::string(provider ? provider : "http://127.0.0.1:8787/v1") + "/chat/completions";
  opsmeter::Client client(opsmeter::Options::from_environment());

  httplib::Server server;
  server.set_tcp_nodelay(true);  // answers in one segment, not held by Nagle's algorithm
  server.set_keep_alive_max_count(1000000);  // cpp-httplib closes after 5 requests by default
  server.Post("/answer", [&](const httplib::Request& req, httplib::Response& res) {
    opsmeter::CallOptions how;
    how.endpoint_tag = "gateway.answer";
    const Reply reply = opsmeter::capture(
        client, "openai", "gpt-4o-mini", how, [&] { return call_provider(url, req.body); },
        [](const Reply& r) { return opsmeter::http_outcome(r.status, r.body, opsmeter::extract_openai_chat); });
    res.status = reply.status == 0 ? 502 : static_cast<int>(reply.status);
    res.set_content(reply.body, "application/json");
  });
  if (!server.bind_to_port("127.0.0.1", std::atoi(argv[1]))) {
    std::fprintf(stderr, "cannot bind port %s\n", argv[1]);
    return 2;
  }
  std::thread stopper([&] {
    int signal_number = 0;
    sigwait(&stop, &signal_number);
    server.stop();
  });
  std::printf("listening on %s\n", argv[1]);
  std::fflush(stdout);
  server.listen_after_bind();
  stopper.join();
  client.flush(std::chrono::seconds(5));
  const opsmeter::Stats s = client.stats();
  std::fprintf(stderr, "{\"recorded\":%llu,\"delivered\":%llu,\"dropped\":%llu,\"requests_sent\":%llu}\n",
               static_cast<unsigned long long>(s.recorded), static_cast<unsigned long long>(s.delivered),
               static_cast<unsigned long long>(s.dropped), static_cast<unsigned long long>(s.requests_sent));
  return 0;
}
