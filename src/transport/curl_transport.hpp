// The libcurl transport: one multi handle, one reusable easy handle per in-flight slot, so
// connections are kept alive and reused across records; HTTP/2 (multiplexed) where a TLS
// server offers it, HTTP/1.1 otherwise.
#pragma once

#include <memory>
#include <string>

#include "opsmeter/connection_info.hpp"
#include "transport/transport.hpp"

namespace opsmeter::detail {

struct CurlSettings {
  std::string url;  // full ingest URL
  std::string api_key;
  std::string user_agent;
  Millis timeout{600};
  std::size_t max_in_flight = 4;  // requests at once over HTTP/1.1, each on its own connection
  std::size_t max_streams = 100;  // ... and over HTTP/2, as streams on one connection
  std::string ca_bundle;  // PEM file of trusted CAs; empty: libcurl's default store
  std::string ca_path;    // directory of trusted CAs; empty: libcurl's default
  std::string proxy;      // proxy URL; empty: no proxy (the environment is never read here)
  std::string no_proxy;   // hosts that bypass the proxy, libcurl's NOPROXY syntax
};

// Runs curl_global_init once per process; returns "" on success, else the reason. Call it on
// the host thread before any worker starts.
std::string ensure_curl_global_init() noexcept;

// The answer to one blocking GET.
struct GetResult {
  int http_status = 0;  // 0 when no HTTP answer arrived
  TransportError error = TransportError::kNone;
  std::string error_text;
  std::string body;  // capped at 64 KiB
  ConnectionInfo connection;  // how far the connection got (through a proxy: the proxy's)
};

// One blocking GET of `url` with the settings' key, headers, TLS and proxy (settings.url and
// max_in_flight are not used). Never throws.
GetResult curl_get(const CurlSettings& settings, const std::string& url) noexcept;

class CurlLibrary;

// nullptr plus a reason in `error` if curl could not be set up. May throw std::bad_alloc.
// `curl` is the seam every libcurl call goes through (curl_library.hpp): null for libcurl
// itself, a test's CurlLibrary otherwise, which must outlive the transport.
std::unique_ptr<Transport> make_curl_transport(const CurlSettings& settings, std::string& error,
                                               CurlLibrary* curl = nullptr);

}  // namespace opsmeter::detail
