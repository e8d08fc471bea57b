// A few lines of libcurl for the examples' provider calls (your service has its own HTTP
// client; the SDK itself never needs this).
#pragma once

#include <curl/curl.h>

#include <functional>
#include <string>
#include <vector>

namespace example {

struct HttpResponse {
  long status = 0;      // 0: no HTTP response
  std::string body;
  std::string error;    // transport error text
};

// POSTs JSON. `on_chunk`, when given, sees the body as it streams in.
// The examples run against the bundled mock server over HTTPS too, with a test CA named by
// OPSMETER_CA_BUNDLE; the examples' own calls trust it as the SDK does.
inline void trust_opsmeter_ca(CURL* curl) {
  const char* ca = std::getenv("OPSMETER_CA_BUNDLE");
  if (ca && *ca) curl_easy_setopt(curl, CURLOPT_CAINFO, ca);
}

inline HttpResponse post_json(const std::string& url, const std::string& body,
                              const std::vector<std::string>& headers = {},
                              std::function<void(const std::string&)> on_chunk = nullptr) {
  HttpResponse out;
  CURL* curl = curl_easy_init();
  if (!curl) {
    out.error = "curl_easy_init failed";
    return out;
  }
  struct Sink {
    HttpResponse* out;
    std::function<void(const std::string&)>* on_chunk;
  } sink{&out, &on_chunk};
  curl_slist* list = curl_slist_append(nullptr, "Content-Type: application/json");
  for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  trust_opsmeter_ca(curl);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION,
                   +[](char* data, size_t size, size_t n, void* user) -> size_t {
                     auto* s = static_cast<Sink*>(user);
                     const std::string chunk(data, size * n);
                     s->out->body += chunk;
                     if (*s->on_chunk) (*s->on_chunk)(chunk);
                     return size * n;
                   });
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
  } else {
    out.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return out;
}

inline HttpResponse get(const std::string& url) {
  HttpResponse out;
  CURL* curl = curl_easy_init();
  if (!curl) return out;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  trust_opsmeter_ca(curl);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION,
                   +[](char* data, size_t size, size_t n, void* user) -> size_t {
                     static_cast<std::string*>(user)->append(data, size * n);
                     return size * n;
                   });
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
  curl_easy_cleanup(curl);
  return out;
}

inline std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? std::string(value) : fallback;
}

inline std::vector<std::string> provider_headers() {
  std::vector<std::string> headers;
  const std::string key = env_or("OPENAI_API_KEY", "");
  if (!key.empty()) headers.push_back("Authorization: Bearer " + key);
  return headers;
}

}  // namespace example
