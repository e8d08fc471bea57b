// The thin seam between the transport and libcurl: every libcurl call the transport makes goes
// through one of these members, whose default forwards to libcurl unchanged. Tests of the
// transport's own error paths override a member to fail (a setopt, an add_handle) and count
// calls; everything else still runs libcurl for real, over real sockets.
#pragma once

#include <curl/curl.h>

#include <type_traits>

namespace opsmeter::detail {

class CurlLibrary {
 public:
  virtual ~CurlLibrary() = default;

  // The process-wide instance that forwards to libcurl.
  static CurlLibrary& real() noexcept;

  using WriteCallback = std::size_t (*)(char*, std::size_t, std::size_t, void*);

  virtual CURL* easy_init() { return curl_easy_init(); }
  virtual void easy_cleanup(CURL* e) { curl_easy_cleanup(e); }
  virtual CURLcode easy_setopt_long(CURL* e, CURLoption o, long v) { return curl_easy_setopt(e, o, v); }
  virtual CURLcode easy_setopt_pointer(CURL* e, CURLoption o, const void* v) {
    return curl_easy_setopt(e, o, v);
  }
  virtual CURLcode easy_setopt_size(CURL* e, CURLoption o, curl_off_t v) {
    return curl_easy_setopt(e, o, v);
  }
  virtual CURLcode easy_getinfo_long(CURL* e, CURLINFO i, long* out) { return curl_easy_getinfo(e, i, out); }
  virtual CURLcode easy_getinfo_off(CURL* e, CURLINFO i, curl_off_t* out) { return curl_easy_getinfo(e, i, out); }
  virtual CURLcode easy_getinfo_certinfo(CURL* e, curl_certinfo** out) {
    return curl_easy_getinfo(e, CURLINFO_CERTINFO, out);
  }
  virtual CURLcode easy_perform(CURL* e) { return curl_easy_perform(e); }
  virtual const char* easy_strerror(CURLcode code) { return curl_easy_strerror(code); }
  virtual CURLcode global_init(long flags) { return curl_global_init(flags); }

  // Sets one option with the member for its value's type.
  template <typename T>
  CURLcode easy_setopt(CURL* e, CURLoption option, T value) {
    if constexpr (std::is_same_v<T, long>) {
      return easy_setopt_long(e, option, value);
    } else if constexpr (std::is_pointer_v<T> && std::is_function_v<std::remove_pointer_t<T>>) {
      // A callback goes to libcurl as it is: the seam's tests fail options by their long and
      // pointer values, and no test needs a callback's setting to fail.
      return curl_easy_setopt(e, option, value);
    } else if constexpr (std::is_same_v<T, curl_off_t>) {
      return easy_setopt_size(e, option, value);
    } else {
      static_assert(std::is_pointer_v<T> || std::is_null_pointer_v<T>, "a libcurl option value");
      return easy_setopt_pointer(e, option, value);
    }
  }
  virtual CURLcode easy_getinfo_pointer(CURL* e, CURLINFO i, char** out) {
    return curl_easy_getinfo(e, i, out);
  }

  // The request URL parsed once, for CURLOPT_CURLU (libcurl then does not parse it again for
  // each transfer); null when libcurl cannot parse it here.
  virtual CURLU* url_parse(const char* url) {
    CURLU* handle = curl_url();
    if (handle && curl_url_set(handle, CURLUPART_URL, url, 0) != CURLUE_OK) {
      curl_url_cleanup(handle);
      handle = nullptr;
    }
    return handle;
  }
  virtual void url_cleanup(CURLU* handle) { curl_url_cleanup(handle); }

  virtual CURLM* multi_init() { return curl_multi_init(); }
  virtual CURLMcode multi_cleanup(CURLM* m) { return curl_multi_cleanup(m); }
  virtual CURLMcode multi_setopt_long(CURLM* m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }
  virtual CURLMcode multi_add_handle(CURLM* m, CURL* e) { return curl_multi_add_handle(m, e); }
  virtual CURLMcode multi_remove_handle(CURLM* m, CURL* e) { return curl_multi_remove_handle(m, e); }
  virtual CURLMcode multi_perform(CURLM* m, int* running) { return curl_multi_perform(m, running); }
  virtual CURLMsg* multi_info_read(CURLM* m, int* left) { return curl_multi_info_read(m, left); }
  virtual CURLMcode multi_poll(CURLM* m, int timeout_ms) {
    return curl_multi_poll(m, nullptr, 0, timeout_ms, nullptr);
  }
  virtual CURLMcode multi_wakeup(CURLM* m) { return curl_multi_wakeup(m); }

  virtual curl_slist* slist_append(curl_slist* list, const char* line) { return curl_slist_append(list, line); }
  virtual void slist_free_all(curl_slist* list) { curl_slist_free_all(list); }
};

}  // namespace opsmeter::detail
