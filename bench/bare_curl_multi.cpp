// bare_curl_multi: the floor under the SDK's delivery cost. The same POSTs opsmeter's worker
// makes (a ~370-byte record body to /v1/ingest/llm-request, X-API-Key, JSON), with libcurl's
// multi interface and nothing else: one multi handle, K reused easy handles, HTTP/2
// multiplexed over TLS where offered, K requests in flight. Prints one JSON line with the
// process's user + system CPU per request. bench/protocols.sh runs it beside opsmeter-load
// against the same server; with --rate R it starts R requests a second (as a service sending
// one record per call would) instead of as fast as the server answers.
//
//   bare_curl_multi --url https://127.0.0.1:PORT/v1/ingest/llm-request [--ca-bundle PEM]
//                   [--requests N] [--in-flight K] [--rate R]
#include <curl/curl.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Slot {
  CURL* easy = nullptr;
  std::string body;
};

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(usage.ru_utime) + s(usage.ru_stime);
}

std::string body_for(long n) {
  char id[40];
  std::snprintf(id, sizeof id, "ext_bare%024ld", n);
  return std::string(R"({"externalRequestId":")") + id +
         R"(","provider":"openai","model":"gpt-4o-mini","promptVersion":"summary_v3","endpointTag":"checkout.ai_summary",)"
         R"("inputTokens":120,"outputTokens":45,"totalTokens":165,"latencyMs":820,"status":"success","errorCode":null,)"
         R"("userId":null,"dataMode":"real","environment":"prod","metadata":{"sdkLanguage":"cpp","sdkVersion":"0.1.0"}})";
}

}  // namespace

int main(int argc, char** argv) {
  std::string url, ca;
  long requests = 50000, in_flight = 8;
  double rate = 0;  // requests started per second; 0: as fast as slots free up
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--url")) url = argv[i + 1];
    else if (!std::strcmp(argv[i], "--ca-bundle")) ca = argv[i + 1];
    else if (!std::strcmp(argv[i], "--requests")) requests = std::atol(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--in-flight")) in_flight = std::atol(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rate")) rate = std::atof(argv[i + 1]);
  }
  if (url.empty() || requests <= 0 || in_flight <= 0) {
    std::fprintf(stderr,
                 "usage: bare_curl_multi --url URL [--ca-bundle PEM] [--requests N] [--in-flight K] [--rate R]\n");
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "X-API-Key: test-key");
  std::vector<Slot> slots(static_cast<std::size_t>(in_flight));
  for (Slot& slot : slots) {
    slot.easy = curl_easy_init();
    curl_easy_setopt(slot.easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(slot.easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(slot.easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    curl_easy_setopt(slot.easy, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(slot.easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(slot.easy, CURLOPT_TIMEOUT_MS, 5000L);
    if (!ca.empty()) curl_easy_setopt(slot.easy, CURLOPT_CAINFO, ca.c_str());
    curl_easy_setopt(slot.easy, CURLOPT_WRITEFUNCTION, +[](char*, size_t size, size_t n, void*) { return size * n; });
    curl_easy_setopt(slot.easy, CURLOPT_PRIVATE, &slot);
  }
  long started = 0, done = 0, failed = 0;
  std::vector<Slot*> idle;  // slots with no request, when paced
  const auto start = [&](Slot& slot) {
    slot.body = body_for(started++);
    curl_easy_setopt(slot.easy, CURLOPT_POSTFIELDS, slot.body.data());
    curl_easy_setopt(slot.easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(slot.body.size()));
    curl_multi_add_handle(multi, slot.easy);
  };
  const double cpu_before = cpu_seconds();
  const auto wall_before = std::chrono::steady_clock::now();
  // When the next request is due: paced, the n-th at n / rate after the start; else at once.
  const auto due = [&](long n) {
    return wall_before + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(rate > 0 ? static_cast<double>(n) / rate : 0.0));
  };
  for (Slot& slot : slots) idle.push_back(&slot);
  int running = 0;
  while (done < requests) {
    while (!idle.empty() && started < requests && std::chrono::steady_clock::now() >= due(started)) {
      start(*idle.back());
      idle.pop_back();
    }
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Slot* slot = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &slot);
      long status = 0;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
      if (msg->data.result != CURLE_OK || status != 200) ++failed;
      ++done;
      curl_multi_remove_handle(multi, msg->easy_handle);
      if (started < requests && std::chrono::steady_clock::now() >= due(started)) {
        start(*slot);
      } else {
        idle.push_back(slot);
      }
    }
    if (done < requests) {
      int wait_ms = 1000;
      if (!idle.empty() && started < requests) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(due(started) - std::chrono::steady_clock::now());
        wait_ms = static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 1000));
      }
      curl_multi_poll(multi, nullptr, 0, wait_ms, nullptr);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count();
  const double cpu = cpu_seconds() - cpu_before;
  std::printf("{\"requests\":%ld,\"failed\":%ld,\"in_flight\":%ld,\"rate\":%.0f,\"seconds\":%.2f,\"per_s\":%.0f,"
              "\"cpu_us_per_request\":%.1f}\n",
              done, failed, in_flight, rate, seconds, static_cast<double>(done) / seconds,
              cpu * 1e6 / static_cast<double>(done));
  for (Slot& slot : slots) curl_easy_cleanup(slot.easy);
  curl_slist_free_all(headers);
  curl_multi_cleanup(multi);
  curl_global_cleanup();
  return failed == 0 ? 0 : 1;
}
