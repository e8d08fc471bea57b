// libcurl transport. Every option the engineering rules ask for is set here: NOSIGNAL, the
// *_TIMEOUT_MS pair, an empty Expect header, keep-alive through one multi handle, and a capped
// response body. The API key is only ever placed in the request headers.
#include "curl_transport.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace opsmeter::detail {
namespace {

constexpr std::size_t kMaxResponseBody = 64 * 1024;

struct Slot {
  CURL* easy = nullptr;
  bool busy = false;
  std::uint64_t token = 0;
  std::string body;
  std::string retry_after;
  char error_buffer[CURL_ERROR_SIZE] = {};
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* slot = static_cast<Slot*>(user);
  const std::size_t bytes = size * count;
  const std::size_t room = kMaxResponseBody - std::min(kMaxResponseBody, slot->body.size());
  try {
    slot->body.append(data, std::min(bytes, room));
  } catch (...) {
    return 0;  // tells curl to fail the transfer; counted as a network error
  }
  return bytes;
}

bool header_named(const char* line, std::size_t length, const char* name) {
  const std::size_t n = std::strlen(name);
  return length > n && line[n] == ':' && strncasecmp(line, name, n) == 0;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* slot = static_cast<Slot*>(user);
  const std::size_t bytes = size * count;
  if (header_named(data, bytes, "retry-after")) {
    std::string_view value(data + 12, bytes - 12);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.remove_suffix(1);
    try {
      slot->retry_after.assign(value.substr(0, 128));
    } catch (...) {
      return 0;
    }
  }
  return bytes;
}

TransportError classify(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: return TransportError::kTimeout;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return TransportError::kConnect;
    default: return TransportError::kNetwork;
  }
}

class CurlTransport final : public Transport {
 public:
  CurlTransport(const CurlSettings& settings, std::string& error) : settings_(settings) {
    multi_ = curl_multi_init();
    if (!multi_) {
      error = "curl_multi_init failed";
      return;
    }
    const long limit = static_cast<long>(settings_.max_in_flight);
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, limit);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, limit);
    if (!build_headers()) {
      error = "could not build request headers";
      return;
    }
    slots_.resize(settings_.max_in_flight);
    for (Slot& slot : slots_) {
      slot.easy = curl_easy_init();
      if (!slot.easy || !configure(slot)) {
        error = "curl_easy_init failed";
        return;
      }
    }
  }

  ~CurlTransport() override {
    for (Slot& slot : slots_) {
      if (slot.busy) curl_multi_remove_handle(multi_, slot.easy);
      if (slot.easy) curl_easy_cleanup(slot.easy);
    }
    if (multi_) curl_multi_cleanup(multi_);
    curl_slist_free_all(headers_);
  }

  bool start(std::uint64_t token, const std::string& body) override {
    const auto free_slot = std::find_if(slots_.begin(), slots_.end(), [](const Slot& s) { return !s.busy; });
    if (free_slot == slots_.end()) return false;
    Slot& slot = *free_slot;
    slot.body.clear();
    slot.retry_after.clear();
    slot.error_buffer[0] = '\0';
    curl_easy_setopt(slot.easy, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(slot.easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    if (curl_multi_add_handle(multi_, slot.easy) != CURLM_OK) return false;
    slot.busy = true;
    slot.token = token;
    added_since_perform_ = true;
    return true;
  }

  void collect(std::vector<HttpResult>& done) override {
    int running = 0;
    curl_multi_perform(multi_, &running);
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      Slot* slot = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &slot);
      HttpResult result = finish(*slot, message->data.result);
      done.push_back(std::move(result));
    }
  }

  void wait(Millis max_wait) override {
    if (added_since_perform_) {
      // Start the requests just added now; otherwise they would wait for a poll round that
      // returns at once only to send them.
      added_since_perform_ = false;
      int running = 0;
      curl_multi_perform(multi_, &running);
      // A transfer that finished inside that call leaves no socket event to wake the poll:
      // return so the next collect() picks it up.
      const auto busy = std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.busy; });
      if (running < busy) return;
    }
    const int timeout = static_cast<int>(std::clamp<Millis::rep>(max_wait.count(), 0, 1000));
    curl_multi_poll(multi_, nullptr, 0, timeout, nullptr);
  }

  void abort_all(std::vector<HttpResult>& aborted) override {
    for (Slot& slot : slots_) {
      if (!slot.busy) continue;
      curl_multi_remove_handle(multi_, slot.easy);
      slot.busy = false;
      HttpResult result;
      result.token = slot.token;
      result.error = TransportError::kAborted;
      result.error_text = "aborted at shutdown";
      aborted.push_back(std::move(result));
    }
  }

  void wakeup() noexcept override { curl_multi_wakeup(multi_); }

 private:
  bool build_headers() {
    const std::string lines[] = {
        "Content-Type: application/json",
        "Accept: application/json",
        "X-API-Key: " + settings_.api_key,
        "User-Agent: " + settings_.user_agent,
        "Expect:",  // no 100-continue round trip
    };
    for (const std::string& line : lines) {
      curl_slist* next = curl_slist_append(headers_, line.c_str());
      if (!next) return false;
      headers_ = next;
    }
    return true;
  }

  bool configure(Slot& slot) {
    CURL* e = slot.easy;
    const long timeout = static_cast<long>(settings_.timeout.count());
    bool ok = curl_easy_setopt(e, CURLOPT_URL, settings_.url.c_str()) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_POST, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers_) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_body) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_WRITEDATA, &slot) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &on_header) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_HEADERDATA, &slot) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_PRIVATE, &slot) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_ERRORBUFFER, slot.error_buffer) == CURLE_OK;
    return ok;
  }

  HttpResult finish(Slot& slot, CURLcode code) {
    HttpResult result;
    result.token = slot.token;
    if (code == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(slot.easy, CURLINFO_RESPONSE_CODE, &status);
      result.http_status = static_cast<int>(status);
      result.body = std::move(slot.body);
      result.retry_after = std::move(slot.retry_after);
    } else {
      result.error = classify(code);
      result.error_text = slot.error_buffer[0] ? slot.error_buffer : curl_easy_strerror(code);
    }
    curl_multi_remove_handle(multi_, slot.easy);
    slot.busy = false;
    return result;
  }

  CurlSettings settings_;
  CURLM* multi_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::vector<Slot> slots_;  // sized once; CURLOPT_PRIVATE/WRITEDATA point into it
  bool added_since_perform_ = false;
};

}  // namespace

std::string ensure_curl_global_init() noexcept {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (code == CURLE_OK) return std::string();
  try {
    return std::string("curl_global_init failed: ") + curl_easy_strerror(code);
  } catch (...) {
    return std::string();
  }
}

std::unique_ptr<Transport> make_curl_transport(const CurlSettings& settings, std::string& error) {
  auto transport = std::make_unique<CurlTransport>(settings, error);
  if (!error.empty()) return nullptr;
  return transport;
}

}  // namespace opsmeter::detail
