// libcurl transport. libcurl opens every connection (name resolution, connect, TLS, proxy
// tunnel) in CURLOPT_CONNECT_ONLY mode on a multi handle; the transport then writes each
// HTTP/1.1 request and reads its response over that connection with curl_easy_send/recv and
// keeps the connection for the next record. Why: with libcurl's full HTTP engine a request
// cost the worker ~60 us of CPU on loopback, most of it per-transfer setup inside libcurl,
// and the worker shares the host's cores. The engineering rules still hold: NOSIGNAL, the
// *_TIMEOUT_MS pair for the connect, one deadline per request, no Expect round trip, reused
// connections, a capped response body, and the API key only in the request head.
#include "curl_transport.hpp"

#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <vector>

#include "http1.hpp"

namespace opsmeter::detail {
namespace {

enum class Phase { kFree, kConnecting, kSending, kReceiving, kFinished };

struct Slot {
  CURL* easy = nullptr;
  Phase phase = Phase::kFree;
  bool in_multi = false;   // added to the multi handle: connecting or holding a connection
  bool connected = false;  // the connection is up and can carry a request
  bool ready = false;      // the last poll saw activity on the socket
  bool reused = false;     // this request went out on a connection that served an earlier one
  bool resent = false;     // already resent once on a fresh connection
  curl_socket_t socket = CURL_SOCKET_BAD;
  std::uint64_t token = 0;
  TimePoint deadline;
  std::string out;  // the whole request
  std::size_t sent = 0;
  ResponseParser parser;
  HttpResult result;  // when kFinished
  char error_buffer[CURL_ERROR_SIZE] = {};
};

TransportError classify(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return TransportError::kTimeout;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return TransportError::kConnect;
    default:
      return TransportError::kNetwork;
  }
}

// Host header and origin-form path of the ingest URL; false if curl cannot parse it.
bool parse_target(const std::string& url, RequestTarget& target) {
  CURLU* u = curl_url();
  if (!u) return false;
  bool ok = curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK;
  char* host = nullptr;
  char* port = nullptr;
  char* path = nullptr;
  char* query = nullptr;
  ok = ok && curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK;
  ok = ok && curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK;
  if (ok) {
    target.host_header = host;
    // Only a port written in the URL goes into the Host header (as browsers and curl do).
    if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT) == CURLUE_OK && port) {
      target.host_header.append(":").append(port);
    }
    target.path = path;
    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK && query) {
      target.path.append("?").append(query);
    }
  }
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_free(query);
  curl_url_cleanup(u);
  return ok;
}

class CurlTransport final : public Transport {
 public:
  CurlTransport(const CurlSettings& settings, std::string& error) : settings_(settings) {
    RequestTarget target;
    if (!parse_target(settings_.url, target)) {
      error = "cannot parse ingest URL " + settings_.url;
      return;
    }
    // finalize_options() has already refused an API key with spaces or control characters,
    // so nothing here can break the request head.
    head_prefix_ = request_head_prefix(target, settings_.api_key, settings_.user_agent);
    multi_ = curl_multi_init();
    if (!multi_) {
      error = "curl_multi_init failed";
      return;
    }
    slots_.resize(settings_.max_in_flight);
    polled_.reserve(settings_.max_in_flight);
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
      close_connection(slot);
      if (slot.easy) curl_easy_cleanup(slot.easy);
    }
    if (multi_) curl_multi_cleanup(multi_);
  }

  bool start(std::uint64_t token, const std::string& body) override {
    // Prefer a slot whose connection is up, so connections are reused rather than opened.
    auto slot = std::find_if(slots_.begin(), slots_.end(),
                             [](const Slot& s) { return s.phase == Phase::kFree && s.connected; });
    if (slot == slots_.end()) {
      slot = std::find_if(slots_.begin(), slots_.end(),
                          [](const Slot& s) { return s.phase == Phase::kFree; });
    }
    if (slot == slots_.end()) return false;
    Slot& s = *slot;
    s.token = token;
    s.out.clear();
    append_request(s.out, head_prefix_, body);
    s.deadline = Clock::now() + settings_.timeout;
    s.resent = false;
    if (s.connected) {
      s.reused = true;
      begin_request(s);
      advance(s);
      return true;
    }
    s.reused = false;
    return open_connection(s);
  }

  void collect(std::vector<HttpResult>& done) override {
    if (!polled_since_collect_) poll_sockets(0);
    polled_since_collect_ = false;
    drive_connects();
    const TimePoint now = Clock::now();
    for (Slot& s : slots_) {
      if ((s.phase == Phase::kSending || s.phase == Phase::kReceiving) && s.ready) advance(s);
      s.ready = false;
      if (s.phase != Phase::kFree && s.phase != Phase::kFinished && now >= s.deadline) time_out(s);
      if (s.phase == Phase::kFinished) {
        done.push_back(std::move(s.result));
        s.phase = Phase::kFree;
      }
    }
  }

  void wait(Millis max_wait) override {
    drive_connects();
    if (any_in(Phase::kFinished)) return;  // results are ready; no need to sleep
    Millis timeout = std::clamp<Millis>(max_wait, Millis(0), Millis(1000));
    const TimePoint now = Clock::now();
    for (const Slot& s : slots_) {
      if (s.phase == Phase::kFree || s.phase == Phase::kFinished) continue;
      timeout = std::min(timeout, std::max(Millis(0), std::chrono::ceil<Millis>(s.deadline - now)));
    }
    poll_sockets(static_cast<int>(timeout.count()));
  }

  void abort_all(std::vector<HttpResult>& aborted) override {
    for (Slot& s : slots_) {
      if (s.phase == Phase::kFree) continue;
      if (s.phase != Phase::kFinished) {
        close_connection(s);
        s.result = HttpResult();
        s.result.token = s.token;
        s.result.error = TransportError::kAborted;
        s.result.error_text = "aborted at shutdown";
      }
      aborted.push_back(std::move(s.result));
      s.phase = Phase::kFree;
    }
  }

  void wakeup() noexcept override { curl_multi_wakeup(multi_); }

 private:
  bool configure(Slot& slot) {
    CURL* e = slot.easy;
    const long timeout = static_cast<long>(settings_.timeout.count());
    bool ok = curl_easy_setopt(e, CURLOPT_URL, settings_.url.c_str()) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L) == CURLE_OK;
    // Through an HTTP proxy, tunnel (CONNECT) so the request goes to the ingest host as is.
    ok = ok && curl_easy_setopt(e, CURLOPT_HTTPPROXYTUNNEL, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_PRIVATE, &slot) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_ERRORBUFFER, slot.error_buffer) == CURLE_OK;
    return ok;
  }

  // Hands the slot's handle to the multi handle to connect; the request is sent once it is up.
  bool open_connection(Slot& s) {
    s.error_buffer[0] = '\0';
    if (curl_multi_add_handle(multi_, s.easy) != CURLM_OK) return false;
    s.in_multi = true;
    s.phase = Phase::kConnecting;
    connects_pending_ = true;
    return true;
  }

  // Removing a CONNECT_ONLY handle from the multi handle closes its connection.
  void close_connection(Slot& s) {
    if (s.in_multi) curl_multi_remove_handle(multi_, s.easy);
    s.in_multi = false;
    s.connected = false;
    s.socket = CURL_SOCKET_BAD;
  }

  void begin_request(Slot& s) {
    s.sent = 0;
    s.parser.reset();
    s.phase = Phase::kSending;
  }

  // Runs libcurl's connect state machines and takes over the connections that are up.
  void drive_connects() {
    if (!connects_pending_) return;
    int running = 0;
    curl_multi_perform(multi_, &running);
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      Slot* slot = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &slot);
      const CURLcode code = message->data.result;
      curl_socket_t socket = CURL_SOCKET_BAD;
      if (code == CURLE_OK) curl_easy_getinfo(slot->easy, CURLINFO_ACTIVESOCKET, &socket);
      if (socket == CURL_SOCKET_BAD) {
        const char* text = slot->error_buffer[0] ? slot->error_buffer : curl_easy_strerror(code);
        close_connection(*slot);
        finish_with_error(*slot, code == CURLE_OK ? TransportError::kNetwork : classify(code),
                          text);
        continue;
      }
      slot->connected = true;
      slot->socket = socket;
      begin_request(*slot);
      advance(*slot);
    }
    connects_pending_ = any_in(Phase::kConnecting);
  }

  // Sends what it can, or reads what has arrived, until the socket would block.
  void advance(Slot& s) {
    while (s.phase == Phase::kSending) {
      std::size_t n = 0;
      const CURLcode code =
          curl_easy_send(s.easy, s.out.data() + s.sent, s.out.size() - s.sent, &n);
      if (code == CURLE_AGAIN) return;
      if (code != CURLE_OK) return connection_lost(s, curl_easy_strerror(code));
      s.sent += n;
      if (s.sent == s.out.size()) {
        s.phase = Phase::kReceiving;
        quick_ack(s);
        return;  // the answer takes the server a while: read when the poll says so
      }
    }
    char buffer[16 * 1024];
    while (s.phase == Phase::kReceiving) {
      std::size_t n = 0;
      const CURLcode code = curl_easy_recv(s.easy, buffer, sizeof buffer, &n);
      if (code == CURLE_AGAIN) return;
      if (code != CURLE_OK) return connection_lost(s, curl_easy_strerror(code));
      if (n == 0) {  // the server closed the connection
        if (s.parser.end_of_stream() == ResponseParser::Status::kError) {
          return connection_lost(s, s.parser.error());
        }
        return finish_with_response(s);
      }
      const auto status = s.parser.feed({buffer, n});
      if (status == ResponseParser::Status::kError) {
        close_connection(s);
        return finish_with_error(s, TransportError::kNetwork,
                                 "malformed HTTP response: " + s.parser.error());
      }
      if (status == ResponseParser::Status::kDone) finish_with_response(s);
    }
  }

  // The connection failed. A kept-alive connection the server closed while it was idle fails
  // before any response byte; the request is then sent once more on a fresh connection, which
  // is what libcurl does too. Anything else is the request's result.
  void connection_lost(Slot& s, std::string reason) {
    close_connection(s);
    if (s.reused && !s.resent && !s.parser.started()) {
      s.reused = false;
      s.resent = true;
      if (open_connection(s)) return;
    }
    finish_with_error(s, TransportError::kNetwork, std::move(reason));
  }

  // A server that writes its status line and its body in two small segments without
  // TCP_NODELAY waits for the ACK of the first before sending the second; a delayed ACK here
  // would hold every answer ~40 ms. Quick-ack mode is one-shot in Linux, so it is re-armed
  // for each response.
  static void quick_ack(const Slot& s) {
    const int on = 1;
    setsockopt(s.socket, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
  }

  void time_out(Slot& s) {
    close_connection(s);
    finish_with_error(
        s, TransportError::kTimeout,
        "request timed out after " + std::to_string(settings_.timeout.count()) + " ms");
  }

  void finish_with_response(Slot& s) {
    s.result = HttpResult();
    s.result.token = s.token;
    s.result.http_status = s.parser.status_code();
    s.result.body = std::move(s.parser.body());
    s.result.retry_after = std::move(s.parser.retry_after());
    if (!s.parser.keep_alive()) close_connection(s);
    s.phase = Phase::kFinished;
  }

  void finish_with_error(Slot& s, TransportError error, std::string text) {
    s.result = HttpResult();
    s.result.token = s.token;
    s.result.error = error;
    s.result.error_text = std::move(text);
    s.phase = Phase::kFinished;
  }

  // Waits up to `timeout_ms` for the sockets of requests in progress, libcurl's connecting
  // sockets, or wakeup(), and marks the slots whose sockets are ready.
  void poll_sockets(int timeout_ms) {
    polled_.clear();
    for (Slot& s : slots_) {
      if (s.phase != Phase::kSending && s.phase != Phase::kReceiving) continue;
      curl_waitfd fd{};
      fd.fd = s.socket;
      fd.events = s.phase == Phase::kSending ? CURL_WAIT_POLLOUT : CURL_WAIT_POLLIN;
      polled_.push_back(fd);
    }
    curl_multi_poll(multi_, polled_.data(), static_cast<unsigned>(polled_.size()), timeout_ms,
                    nullptr);
    std::size_t i = 0;
    for (Slot& s : slots_) {
      if (s.phase != Phase::kSending && s.phase != Phase::kReceiving) continue;
      if (polled_[i++].revents != 0) s.ready = true;
    }
    polled_since_collect_ = true;
  }

  bool any_in(Phase phase) const {
    return std::any_of(slots_.begin(), slots_.end(),
                       [phase](const Slot& s) { return s.phase == phase; });
  }

  CurlSettings settings_;
  std::string head_prefix_;
  CURLM* multi_ = nullptr;
  std::vector<Slot> slots_;  // sized once; CURLOPT_PRIVATE/ERRORBUFFER point into it
  std::vector<curl_waitfd> polled_;
  bool connects_pending_ = false;
  bool polled_since_collect_ = false;
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
