// libcurl transport on the multi interface: libcurl writes every request and parses every
// response, over HTTP/2 when a TLS server offers it (one connection, requests multiplexed as
// streams) and over HTTP/1.1 otherwise (kept-alive connections, one request each at a time).
//
// Everything libcurl would look up per transfer is fixed once per easy handle: the proxy and
// no_proxy (an empty proxy string tells libcurl not to read the environment), the headers, the
// TLS settings, and the URL, parsed once into a URL handle all of them share (CURLOPT_CURLU).
// Easy handles are made once per in-flight slot and reused; the multi handle keeps the
// connections and the DNS cache across transfers.
#include "transport/curl_transport.hpp"

#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string_view>
#include <type_traits>
#include <vector>

#include "transport/curl_common.hpp"
#include "transport/curl_library.hpp"

namespace opsmeter::detail {
namespace {

constexpr std::size_t kMaxRetryAfter = 128;

// The sockets libcurl opened for this transport and has not closed: what a forked child must
// close without writing on (abandon_after_fork).
struct Sockets {
  std::vector<curl_socket_t> open;
};

struct Slot {
  Sockets* sockets = nullptr;
  CURL* easy = nullptr;
  bool busy = false;
  bool body_capped = false;  // the write callback stopped the transfer at kMaxResponseBody
  int requests = 0;          // requests libcurl put on the wire for this transfer
  bool resolving = false;    // a name lookup started and no socket was opened since
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
    return 0;  // fails the transfer (CURLE_WRITE_ERROR): a network error
  }
  if (bytes <= room) return bytes;
  slot->body_capped = true;  // enough of it: the status and headers are what matter
  return 0;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* slot = static_cast<Slot*>(user);
  const std::size_t bytes = size * count;
  std::string_view line(data, bytes);
  if (line.rfind("HTTP/", 0) == 0) {
    slot->retry_after.clear();  // a new response (after a 1xx, or libcurl's own resend)
    return bytes;
  }
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size() && strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
    line.remove_prefix(kName.size());
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' ')) {
      line.remove_suffix(1);
    }
    try {
      slot->retry_after.assign(line.substr(0, kMaxRetryAfter));
    } catch (...) {
      return 0;
    }
  }
  return bytes;
}

// libcurl calls this once per request it is about to send, including a resend it makes on
// its own on a fresh connection when a reused one turned out dead.
int on_request(void* user, char*, char*, int, int) {
  ++static_cast<Slot*>(user)->requests;
  return CURL_PREREQFUNC_OK;
}

// libcurl starts a name lookup (a cached or numeric host starts none)...
int on_resolver_start(void*, void*, void* user) {
  static_cast<Slot*>(user)->resolving = true;
  return 0;
}

// ...and opens a socket once the name is resolved: the same socket its default would open.
curl_socket_t on_open_socket(void* user, curlsocktype, curl_sockaddr* address) {
  auto* slot = static_cast<Slot*>(user);
  slot->resolving = false;
  const curl_socket_t fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  if (fd == CURL_SOCKET_BAD) return fd;
  try {
    slot->sockets->open.push_back(fd);
  } catch (...) {
    ::close(fd);
    return CURL_SOCKET_BAD;
  }
  return fd;
}

int on_close_socket(void* user, curl_socket_t fd) {
  auto& open = static_cast<Sockets*>(user)->open;
  open.erase(std::remove(open.begin(), open.end(), fd), open.end());
  return ::close(fd);
}

class CurlTransport final : public Transport {
 public:
  CurlTransport(const CurlSettings& settings, CurlLibrary& curl, std::string& error)
      : settings_(settings), curl_(curl) {
    multi_ = curl_.multi_init();
    if (!multi_ || !configure_multi()) {
      error = "could not set up the curl multi handle";
      return;
    }
    if (!build_headers()) {
      error = "could not build request headers";
      return;
    }
    url_ = curl_.url_parse(settings_.url.c_str());  // null: each transfer parses CURLOPT_URL
    // The HTTP/1.1 slots now, so that a configuration error shows at once; those only HTTP/2
    // uses (max_streams), on their first use.
    slots_.resize(std::max(settings_.max_in_flight, settings_.max_streams));
    for (std::size_t i = 0; i < settings_.max_in_flight; ++i) {
      const CURLcode code = make_handle(slots_[i]);
      if (code != CURLE_OK) {
        error = code == CURLE_FAILED_INIT ? std::string("curl_easy_init failed")
                                          : std::string("could not configure libcurl: ") + curl_.easy_strerror(code);
        return;
      }
    }
  }

  ~CurlTransport() override {
    for (Slot& slot : slots_) {
      if (slot.busy) curl_.multi_remove_handle(multi_, slot.easy);
      if (slot.easy) curl_.easy_cleanup(slot.easy);
    }
    if (multi_) curl_.multi_cleanup(multi_);
    curl_.slist_free_all(headers_);
    if (url_) curl_.url_cleanup(url_);  // after the handles that read it
  }

  bool start(std::uint64_t token, const std::string& body, bool fresh_connection) override {
    const auto free_slot =
        std::find_if(slots_.begin(), slots_.end(), [](const Slot& s) { return !s.busy; });
    if (free_slot == slots_.end()) return false;
    Slot& slot = *free_slot;
    if (slot.easy == nullptr && make_handle(slot) != CURLE_OK) return false;
    slot.body.clear();
    slot.retry_after.clear();
    slot.body_capped = false;
    slot.requests = 0;
    slot.resolving = false;
    slot.error_buffer[0] = '\0';
    // POSTFIELDS keeps the pointer: the caller keeps `body` alive until the result is in.
    if (curl_.easy_setopt_pointer(slot.easy, CURLOPT_POSTFIELDS, body.data()) != CURLE_OK ||
        curl_.easy_setopt_size(slot.easy, CURLOPT_POSTFIELDSIZE_LARGE,
                               static_cast<curl_off_t>(body.size())) != CURLE_OK ||
        curl_.easy_setopt_long(slot.easy, CURLOPT_FRESH_CONNECT, fresh_connection ? 1L : 0L) != CURLE_OK ||
        curl_.multi_add_handle(multi_, slot.easy) != CURLM_OK) {
      return false;  // the slot stays free for the next start()
    }
    slot.busy = true;
    slot.token = token;
    added_since_perform_ = true;
    return true;
  }

  void collect(std::vector<HttpResult>& done) override {
    int running = 0;
    curl_.multi_perform(multi_, &running);
    added_since_perform_ = false;
    int left = 0;
    const std::size_t first = done.size();
    borrowed_.clear();
    while (CURLMsg* message = curl_.multi_info_read(multi_, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      char* slot = nullptr;
      if (curl_.easy_getinfo_pointer(message->easy_handle, CURLINFO_PRIVATE, &slot) != CURLE_OK ||
          slot == nullptr) {
        continue;
      }
      bool own_attempt = true;
      done.push_back(finish(*reinterpret_cast<Slot*>(slot), message->data.result, own_attempt));
      if (!own_attempt && done.back().connection_failed) borrowed_.push_back(done.size() - 1);
    }
    // A transfer that waited for another's connection (PIPEWAIT) and never tried one of its
    // own fails with libcurl's text for that ("Failed to resolve host ... after 0 ms"), which
    // is not the reason: report the connection's, from this batch or an earlier one.
    if (!last_connection_error_.empty()) {
      for (std::size_t i : borrowed_) {
        if (i >= first) done[i].error_text = last_connection_error_;
      }
    }
  }

  void wait(Millis max_wait) override {
    if (added_since_perform_) {
      // Put the requests just added on the wire now, instead of after a poll round that
      // would return at once only to send them.
      added_since_perform_ = false;
      int running = 0;
      curl_.multi_perform(multi_, &running);
      // A transfer that finished inside that call leaves no socket event to wake the poll.
      const auto busy = std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.busy; });
      if (running < busy) return;
    }
    const int timeout = static_cast<int>(std::clamp<Millis::rep>(max_wait.count(), 0, 1000));
    curl_.multi_poll(multi_, timeout);
  }

  void abort_all(std::vector<HttpResult>& aborted) override {
    for (Slot& slot : slots_) {
      if (!slot.busy) continue;
      curl_.multi_remove_handle(multi_, slot.easy);
      slot.busy = false;
      HttpResult result;
      result.token = slot.token;
      result.requests = slot.requests;
      result.error = TransportError::kAborted;
      result.error_text = "aborted at shutdown";
      result.abandoned_lookup = slot.resolving;
      aborted.push_back(std::move(result));
    }
  }

  std::size_t capacity() const noexcept override {
    return multiplexing_ ? std::max(settings_.max_in_flight, settings_.max_streams) : settings_.max_in_flight;
  }

  void wakeup() noexcept override { curl_.multi_wakeup(multi_); }

  void abandon_after_fork() noexcept override {
    for (curl_socket_t fd : sockets_.open) ::close(fd);  // the parent's copy stays open
    sockets_.open.clear();
  }

 private:
  bool configure_multi() {
    const long limit = static_cast<long>(settings_.max_in_flight);
    // Over HTTP/2 the requests in flight share one connection as streams (up to max_streams);
    // over HTTP/1.1 each needs its own, and there are never more than max_in_flight.
    return curl_.multi_setopt_long(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX) == CURLM_OK &&
           curl_.multi_setopt_long(multi_, CURLMOPT_MAX_CONCURRENT_STREAMS,
                                   static_cast<long>(settings_.max_streams)) == CURLM_OK &&
           curl_.multi_setopt_long(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, limit) == CURLM_OK &&
           curl_.multi_setopt_long(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, limit) == CURLM_OK &&
           curl_.multi_setopt_long(multi_, CURLMOPT_MAXCONNECTS, limit) == CURLM_OK;
  }

  bool build_headers() {
    const std::string lines[] = {
        "Content-Type: application/json",
        "Accept: application/json",
        "X-API-Key: " + settings_.api_key,
        "Expect:",  // no 100-continue round trip
    };
    for (const std::string& line : lines) {
      curl_slist* next = curl_.slist_append(headers_, line.c_str());
      if (!next) return false;
      headers_ = next;
    }
    return true;
  }

  // The slot's easy handle, made and configured once.
  CURLcode make_handle(Slot& slot) {
    slot.sockets = &sockets_;
    slot.easy = curl_.easy_init();
    if (!slot.easy) return CURLE_FAILED_INIT;
    const CURLcode code = configure(slot);
    if (code != CURLE_OK) {
      curl_.easy_cleanup(slot.easy);
      slot.easy = nullptr;
    }
    return code;
  }

  CURLcode configure(Slot& slot) {
    CURL* e = slot.easy;
    const auto set = [this, e](CURLoption option, auto value) { return curl_.easy_setopt(e, option, value); };
    // A callback and the pointer libcurl hands it.
    const auto callback = [&set](CURLoption option, auto function, CURLoption data_option, void* data) {
      const CURLcode code = set(option, function);
      return code != CURLE_OK ? code : set(data_option, data);
    };
    const CURLcode common = set_connection_options(set, settings_);
    if (common != CURLE_OK) return common;
    const CURLcode codes[] = {
        url_ ? set(CURLOPT_CURLU, url_) : set(CURLOPT_URL, settings_.url.c_str()),
        set(CURLOPT_POST, 1L),
        set(CURLOPT_HTTPHEADER, headers_),
        set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS)),
        // Over TLS, wait for the first connection's ALPN to learn whether it multiplexes
        // (HTTP/2) before opening more. Cleartext never does here, and waiting would queue
        // every transfer behind one slow answer on the first connection.
        set(CURLOPT_PIPEWAIT, settings_.url.rfind("https://", 0) == 0 ? 1L : 0L),
        set(CURLOPT_TCP_KEEPALIVE, 1L),
        set(CURLOPT_TCP_NODELAY, 1L),
        callback(CURLOPT_WRITEFUNCTION, &on_body, CURLOPT_WRITEDATA, &slot),
        callback(CURLOPT_HEADERFUNCTION, &on_header, CURLOPT_HEADERDATA, &slot),
        callback(CURLOPT_PREREQFUNCTION, &on_request, CURLOPT_PREREQDATA, &slot),
        callback(CURLOPT_RESOLVER_START_FUNCTION, &on_resolver_start, CURLOPT_RESOLVER_START_DATA, &slot),
        callback(CURLOPT_OPENSOCKETFUNCTION, &on_open_socket, CURLOPT_OPENSOCKETDATA, &slot),
        callback(CURLOPT_CLOSESOCKETFUNCTION, &on_close_socket, CURLOPT_CLOSESOCKETDATA, &sockets_),
        set(CURLOPT_PRIVATE, &slot),
        set(CURLOPT_ERRORBUFFER, slot.error_buffer),
    };
    for (CURLcode code : codes) {
      if (code != CURLE_OK) return code;
    }
    return CURLE_OK;
  }

  // Whether the failure is the connection's rather than this request's: no connection (DNS,
  // refused, unreachable, connect timeout) or no TLS. A request that was sent and timed out, or
  // was reset, is that request's failure, even on a fresh connection: one slow answer says
  // nothing of the API as a whole (the gate counts such failures, gate.hpp).
  static bool connection_failed(const Slot& slot, TransportError error) {
    if (error == TransportError::kConnect || error == TransportError::kTls) return true;
    return error == TransportError::kTimeout && slot.requests == 0;  // never got to send it
  }

  // `own_attempt`: whether the transfer tried a connection of its own (or sent on one).
  HttpResult finish(Slot& slot, CURLcode code, bool& own_attempt) {
    own_attempt = true;
    HttpResult result;
    result.token = slot.token;
    result.requests = slot.requests;
    if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && slot.body_capped)) {
      long status = 0;
      curl_.easy_getinfo_long(slot.easy, CURLINFO_RESPONSE_CODE, &status);
      result.http_status = static_cast<int>(status);
      // Whether the server multiplexes, as of its latest answer: HTTP/2 streams share one
      // connection, so more may be in flight (capacity()).
      long version = 0;
      curl_.easy_getinfo_long(slot.easy, CURLINFO_HTTP_VERSION, &version);
      multiplexing_ = version == CURL_HTTP_VERSION_2_0 || version == CURL_HTTP_VERSION_3;
      result.body = std::move(slot.body);
      result.retry_after = std::move(slot.retry_after);
    } else {
      result.error = classify(code);
      result.error_text = slot.error_buffer[0] ? slot.error_buffer : curl_.easy_strerror(code);
      result.connection_failed = connection_failed(slot, result.error);
      long new_connections = 0, header_bytes = 0;
      curl_.easy_getinfo_long(slot.easy, CURLINFO_NUM_CONNECTS, &new_connections);
      curl_.easy_getinfo_long(slot.easy, CURLINFO_HEADER_SIZE, &header_bytes);
      result.answered_bytes = header_bytes > 0;
      own_attempt = new_connections > 0 || slot.requests > 0;
      if (result.connection_failed && own_attempt) last_connection_error_ = result.error_text;
    }
    curl_.multi_remove_handle(multi_, slot.easy);
    slot.busy = false;
    return result;
  }

  CurlSettings settings_;
  CurlLibrary& curl_;
  Sockets sockets_;  // before slots_: their callbacks point at it
  CURLM* multi_ = nullptr;
  curl_slist* headers_ = nullptr;
  CURLU* url_ = nullptr;     // settings_.url parsed once; every handle reads it (read-only)
  std::vector<Slot> slots_;  // sized once; the handles' callbacks point into it
  bool added_since_perform_ = false;
  bool multiplexing_ = false;  // the latest answer came over HTTP/2
  std::string last_connection_error_;  // the last failure of a connection attempt
  std::vector<std::size_t> borrowed_;  // reused buffer: collect()'s results without an attempt
};

}  // namespace

std::unique_ptr<Transport> make_curl_transport(const CurlSettings& settings, std::string& error,
                                               CurlLibrary* curl) {
  auto transport =
      std::make_unique<CurlTransport>(settings, curl ? *curl : CurlLibrary::real(), error);
  if (!error.empty()) return nullptr;
  return transport;
}

}  // namespace opsmeter::detail
