// libcurl's process-wide set-up, the seam's real instance, and the one-shot GET of check():
// one blocking request through the same connection options as the sender, and how far its
// connection got.
#include <openssl/crypto.h>

#include <algorithm>
#include <new>
#include <string>
#include <string_view>

#include "transport/curl_common.hpp"
#include "transport/curl_library.hpp"
#include "transport/curl_transport.hpp"

namespace opsmeter::detail {

namespace {

// OpenSSL frees its state in an exit handler by default. A client still live at exit() (leaked,
// or on main's stack) has a worker that may be inside a TLS call then, which crashed the
// process (tests/transport/exit_test.cpp). Asking OpenSSL not to register that handler, before
// libcurl initializes it, leaves its state to the operating system. It takes effect only if
// this is the process's first OpenSSL initialization.
CURLcode global_init() noexcept {
  OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
  return CurlLibrary::real().global_init(CURL_GLOBAL_DEFAULT);
}

}  // namespace

std::string ensure_curl_global_init() noexcept {
  static const CURLcode code = global_init();
  if (code == CURLE_OK) return std::string();
  try {
    return std::string("curl_global_init failed: ") + CurlLibrary::real().easy_strerror(code);
  } catch (...) {
    return std::string();
  }
}

CurlLibrary& CurlLibrary::real() noexcept {
  // Never destroyed: a worker still running while exit() runs the static destructors (a
  // leaked client) keeps calling through it.
  static CurlLibrary* const library = new CurlLibrary;
  return *library;
}

namespace {

std::size_t on_get_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  const std::size_t bytes = size * count;
  const std::size_t room = kMaxResponseBody - std::min(kMaxResponseBody, body->size());
  try {
    body->append(data, std::min(bytes, room));
  } catch (...) {
    return 0;
  }
  return bytes;  // the rest is read and dropped
}

}  // namespace

namespace {

// The certificate fields libcurl lists as "Name:value" lines for the leaf certificate.
void read_certificate(CurlLibrary& curl, CURL* e, ConnectionInfo& result) {
  curl_certinfo* certs = nullptr;
  if (curl.easy_getinfo_certinfo(e, &certs) != CURLE_OK || certs == nullptr ||
      certs->num_of_certs < 1) {
    return;
  }
  for (const curl_slist* line = certs->certinfo[0]; line != nullptr; line = line->next) {
    const std::string_view text(line->data);
    const auto field = [&](std::string_view name, std::string& out) {
      if (text.size() > name.size() && text.compare(0, name.size(), name) == 0 && text[name.size()] == ':') {
        out = std::string(text.substr(name.size() + 1));
      }
    };
    field("Subject", result.tls_subject);
    field("Issuer", result.tls_issuer);
    field("Expire date", result.tls_expires);
  }
}

void read_connection_info(CurlLibrary& curl, CURL* e, CURLcode code, TransportError error, ConnectionInfo& result) {
  const auto micros = [&curl, e](CURLINFO info) {
    curl_off_t value = 0;
    curl.easy_getinfo_off(e, info, &value);
    return Micros(value);
  };
  result.dns_time = micros(CURLINFO_NAMELOOKUP_TIME_T);
  result.connect_time = micros(CURLINFO_CONNECT_TIME_T);
  result.tls_time = micros(CURLINFO_APPCONNECT_TIME_T);
  result.total_time = micros(CURLINFO_TOTAL_TIME_T);
  char* ip = nullptr;
  if (curl.easy_getinfo_pointer(e, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != nullptr) result.remote_address = ip;
  // A connect time is recorded once TCP is up, an app-connect time once TLS is. A failed TLS
  // handshake or a connection lost mid-exchange had TCP up too (libcurl records no time then).
  result.connected = result.connect_time.count() > 0 || code == CURLE_OK || error == TransportError::kTls ||
                     error == TransportError::kNetwork;
  result.tls_handshake = result.tls_time.count() > 0;
  const bool lookup_failed = code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_RESOLVE_PROXY;
  result.resolved = !lookup_failed && (result.connected || result.dns_time.count() > 0 ||
                                       !result.remote_address.empty() || code == CURLE_COULDNT_CONNECT);
  if (code == CURLE_OK) {
    long version = 0;
    curl.easy_getinfo_long(e, CURLINFO_HTTP_VERSION, &version);
    result.http_version = version == CURL_HTTP_VERSION_2_0 ? "HTTP/2"
                          : version == CURL_HTTP_VERSION_3 ? "HTTP/3"
                          : version == CURL_HTTP_VERSION_1_0 ? "HTTP/1.0"
                                                             : "HTTP/1.1";
  }
  if (result.tls_handshake) read_certificate(curl, e, result);
}

}  // namespace

GetResult curl_get(const CurlSettings& settings, const std::string& url) noexcept {
  CurlLibrary& curl = CurlLibrary::real();
  GetResult result;
  CURL* e = nullptr;
  curl_slist* headers = nullptr;
  try {
    e = curl.easy_init();
    const std::string key = "X-API-Key: " + settings.api_key;
    for (const char* line : {"Accept: application/json", key.c_str()}) {
      curl_slist* next = curl.slist_append(headers, line);
      if (next == nullptr) throw std::bad_alloc();
      headers = next;
    }
    if (e == nullptr) throw std::bad_alloc();
    char error_buffer[CURL_ERROR_SIZE] = {};
    const auto set = [&curl, e](CURLoption option, auto value) { return curl.easy_setopt(e, option, value); };
    const CURLcode setup[] = {
        set_connection_options(set, settings),
        set(CURLOPT_URL, url.c_str()),
        set(CURLOPT_HTTPGET, 1L),
        set(CURLOPT_HTTPHEADER, static_cast<const void*>(headers)),
        set(CURLOPT_WRITEFUNCTION, static_cast<CurlLibrary::WriteCallback>(&on_get_body)),
        set(CURLOPT_WRITEDATA, static_cast<const void*>(&result.body)),
        set(CURLOPT_ERRORBUFFER, static_cast<const void*>(error_buffer)),
        set(CURLOPT_CERTINFO, 1L),
    };
    CURLcode code = CURLE_OK;
    for (CURLcode c : setup) {
      if (c != CURLE_OK && code == CURLE_OK) code = c;
    }
    if (code == CURLE_OK) code = curl.easy_perform(e);
    if (code == CURLE_OK) {
      long status = 0;
      curl.easy_getinfo_long(e, CURLINFO_RESPONSE_CODE, &status);
      result.http_status = static_cast<int>(status);
    } else {
      result.error = classify(code);
      result.error_text = error_buffer[0] ? error_buffer : curl.easy_strerror(code);
    }
    read_connection_info(curl, e, code, result.error, result.connection);
  } catch (...) {
    result.error = TransportError::kOther;
    result.error_text = "out of memory";
  }
  if (e != nullptr) curl.easy_cleanup(e);
  curl.slist_free_all(headers);
  return result;
}

}  // namespace opsmeter::detail
