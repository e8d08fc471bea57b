// A raw libcurl call to a provider, recorded through the capture helper: the call returns what
// libcurl gave (status and body), http_outcome() turns it into usage or an errorCode, and
// capture() records it and hands the reply back unchanged.
//
// Environment: OPSMETER_API_KEY and OPSMETER_API_BASE_URL, OPENAI_BASE_URL (an
// OpenAI-compatible endpoint, e.g. the bundled mock server's http://127.0.0.1:8787/v1) and
// optionally OPENAI_API_KEY.
#include <curl/curl.h>
#include <opsmeter/opsmeter.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

struct Reply {
  long status = 0;  // 0: no HTTP answer
  std::string body;
  std::string error;
};

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

// What your service already has: one POST with libcurl.
Reply post(const std::string& url, const std::string& json_body) {
  Reply reply;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return reply;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  const std::string key = env_or("OPENAI_API_KEY", "");
  const std::string auth = "Authorization: Bearer " + key;
  if (!key.empty()) headers = curl_slist_append(headers, auth.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json_body.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30000L);
  const std::string ca = env_or("OPSMETER_CA_BUNDLE", "");  // the test CA, when the suite runs this over TLS
  if (!ca.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* out) -> size_t {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
  });
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  } else {
    reply.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return reply;
}

}  // namespace

int main() {
  opsmeter::Client client(opsmeter::Options::from_environment());
  const std::string url = env_or("OPENAI_BASE_URL", "https://api.openai.com/v1") + "/chat/completions";

  opsmeter::CallOptions how;
  how.endpoint_tag = "support.reply";
  how.prompt_version = "support_reply_v2";
  const Reply reply = opsmeter::capture(
      client, "openai", "gpt-4o-mini", how,
      [&] { return post(url, R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]})"); },
      [](const Reply& r) { return opsmeter::http_outcome(r.status, r.body, opsmeter::extract_openai_chat); });

  std::printf("provider answered HTTP %ld %s\n", reply.status, reply.error.c_str());
  client.flush(std::chrono::seconds(5));
  const opsmeter::Stats stats = client.stats();
  std::printf("telemetry: recorded=%llu delivered=%llu\n", static_cast<unsigned long long>(stats.recorded),
              static_cast<unsigned long long>(stats.delivered));
  return reply.status == 200 && stats.delivered == 1 ? 0 : 1;
}
