// What the sender and check()'s one-shot GET share: how a libcurl error is classified and how
// every request reaches the ingest API (protocols, deadlines, TLS, proxy). Transport only.
#pragma once

#include <cstddef>

#include "transport/curl_library.hpp"
#include "transport/curl_transport.hpp"

namespace opsmeter::detail {

// Response bodies are read up to this size; the rest is read and dropped.
inline constexpr std::size_t kMaxResponseBody = 64 * 1024;

inline TransportError classify(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return TransportError::kTimeout;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return TransportError::kConnect;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
      return TransportError::kTls;
    default:
      return TransportError::kNetwork;
  }
}

// How every request reaches the ingest API, for the sender and for check() alike: protocols,
// user agent, no redirects, no signals, deadlines, TLS verification and trust, the proxy.
// `set(option, value)` sets one option; the first failure is returned.
template <typename Set>
CURLcode set_connection_options(Set&& set, const CurlSettings& settings) {
  const long timeout = static_cast<long>(settings.timeout.count());
  const CURLcode codes[] = {
      set(CURLOPT_PROTOCOLS_STR, "http,https"),
      set(CURLOPT_USERAGENT, settings.user_agent.c_str()),
      set(CURLOPT_FOLLOWLOCATION, 0L),
      set(CURLOPT_NOSIGNAL, 1L),
      // Never wait for a name lookup's thread when a transfer is aborted or cleaned up: a
      // resolver that does not answer must not hold shutdown() or the destructor.
      set(CURLOPT_QUICK_EXIT, 1L),
      set(CURLOPT_TIMEOUT_MS, timeout),
      set(CURLOPT_CONNECTTIMEOUT_MS, timeout),
      set(CURLOPT_SSL_VERIFYPEER, 1L),
      set(CURLOPT_SSL_VERIFYHOST, 2L),
      set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2)),
      settings.ca_bundle.empty() ? CURLE_OK : set(CURLOPT_CAINFO, settings.ca_bundle.c_str()),
      settings.ca_path.empty() ? CURLE_OK : set(CURLOPT_CAPATH, settings.ca_path.c_str()),
      // An empty proxy string means "no proxy" and stops libcurl reading the environment.
      set(CURLOPT_PROXY, settings.proxy.c_str()),
      set(CURLOPT_NOPROXY, settings.no_proxy.empty() ? nullptr : settings.no_proxy.c_str()),
  };
  for (CURLcode code : codes) {
    if (code != CURLE_OK) return code;
  }
  return CURLE_OK;
}

}  // namespace opsmeter::detail
