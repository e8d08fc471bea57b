// The libcurl transport alone, through the thin CurlLibrary seam: libcurl runs for real over
// loopback against the mock ingest server, and the seam makes one call fail (a setopt, an
// add_handle) or counts calls, so the transport's own error paths run: set-up failures, a
// transfer that fails to start, shutdown with transfers in flight, and a URL parsed once for
// every handle (or, when libcurl cannot parse it ahead, by each transfer).
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "base/clock.hpp"
#include "opsmeter/ids.hpp"
#include "opsmeter/serialize.hpp"
#include "opsmeter/testing/mock_ingest_server.hpp"
#include "transport/curl_library.hpp"
#include "transport/curl_transport.hpp"

namespace opsmeter::detail {
namespace {

using namespace std::chrono_literals;
using testing::Fault;
using testing::MockIngestServer;

// Forwards to libcurl, counts acquisitions and releases, and fails what a test asks it to.
class ScriptedCurl final : public CurlLibrary {
 public:
  CURL* easy_init() override {
    if (fail_easy_init_at == ++easy_inits) return nullptr;
    return CurlLibrary::easy_init();
  }
  void easy_cleanup(CURL* e) override {
    ++easy_cleanups;
    CurlLibrary::easy_cleanup(e);
  }
  CURLcode easy_setopt_long(CURL* e, CURLoption o, long v) override {
    if (o == fail_option) return CURLE_UNKNOWN_OPTION;
    return CurlLibrary::easy_setopt_long(e, o, v);
  }
  CURLcode easy_setopt_pointer(CURL* e, CURLoption o, const void* v) override {
    if (o == fail_option) return CURLE_UNKNOWN_OPTION;
    ++pointer_options[o];
    return CurlLibrary::easy_setopt_pointer(e, o, v);
  }
  CURLU* url_parse(const char* url) override {
    ++url_parses;
    return fail_url_parse ? nullptr : CurlLibrary::url_parse(url);
  }
  void url_cleanup(CURLU* handle) override {
    ++url_cleanups;
    CurlLibrary::url_cleanup(handle);
  }
  CURLMcode multi_setopt_long(CURLM* m, CURLMoption o, long v) override {
    if (fail_multi_setopt) return CURLM_UNKNOWN_OPTION;
    return CurlLibrary::multi_setopt_long(m, o, v);
  }
  CURLMcode multi_cleanup(CURLM* m) override {
    ++multi_cleanups;
    return CurlLibrary::multi_cleanup(m);
  }
  CURLMcode multi_add_handle(CURLM* m, CURL* e) override {
    if (failing_adds > 0) {
      --failing_adds;
      return CURLM_OUT_OF_MEMORY;
    }
    const CURLMcode code = CurlLibrary::multi_add_handle(m, e);
    if (code == CURLM_OK) ++adds;
    return code;
  }
  CURLMcode multi_remove_handle(CURLM* m, CURL* e) override {
    ++removes;
    return CurlLibrary::multi_remove_handle(m, e);
  }
  curl_slist* slist_append(curl_slist* list, const char* line) override {
    if (fail_headers) return nullptr;
    return CurlLibrary::slist_append(list, line);
  }

  int fail_easy_init_at = 0;  // the nth easy_init() returns null; 0: none
  std::optional<CURLoption> fail_option;  // this option cannot be set
  bool fail_multi_setopt = false;
  bool fail_headers = false;
  int failing_adds = 0;  // this many multi_add_handle() calls fail
  bool fail_url_parse = false;

  int easy_inits = 0;
  int easy_cleanups = 0;
  int multi_cleanups = 0;
  int adds = 0;
  int removes = 0;
  int url_parses = 0;
  int url_cleanups = 0;
  std::map<CURLoption, int> pointer_options;  // how often each pointer option was set
};

class CurlTransportTest : public ::testing::Test {
 public:
  CurlSettings settings(const std::string& base_url, std::size_t max_in_flight = 2) {
    CurlSettings s;
    s.url = base_url + "/v1/ingest/llm-request";
    s.api_key = "test-key";
    s.user_agent = "opsmeter-cpp/test";
    s.timeout = 10s;  // long: the in-flight test aborts before any timeout
    s.max_in_flight = max_in_flight;
    return s;
  }

 protected:
  void SetUp() override { ASSERT_EQ(ensure_curl_global_init(), ""); }

  std::unique_ptr<Transport> make(const CurlSettings& s, std::string& error) {
    return make_curl_transport(s, error, &curl_);
  }

  // Runs the transport until `count` results are in or 10 s pass.
  std::vector<HttpResult> results(Transport& transport, std::size_t count) {
    std::vector<HttpResult> done;
    const TimePoint deadline = Clock::now() + 10s;
    while (done.size() < count && Clock::now() < deadline) {
      transport.collect(done);
      if (done.size() < count) transport.wait(50ms);
    }
    return done;
  }

  // Every easy handle made was cleaned up, every handle added was removed, the multi too.
  void expect_released() {
    const int made = curl_.easy_inits - (curl_.fail_easy_init_at > 0 ? 1 : 0);
    EXPECT_EQ(curl_.easy_cleanups, made);
    EXPECT_EQ(curl_.removes, curl_.adds);
    EXPECT_EQ(curl_.multi_cleanups, 1);
  }

  static std::string valid_body() {
    LlmCallRecord record;
    record.external_request_id = new_request_id();
    record.provider = "openai";
    record.model = "gpt-4o-mini";
    return to_json(record, SerializeDefaults{});
  }

  ScriptedCurl curl_;
  const std::string body_ = valid_body();
};

// The transport cannot be made: it says why, and releases what it had acquired.
std::string setup_error(CurlTransportTest& test, ScriptedCurl& curl, std::size_t max_in_flight = 2) {
  std::string error;
  EXPECT_EQ(make_curl_transport(test.settings("http://127.0.0.1:1", max_in_flight), error, &curl), nullptr);
  return error;
}

TEST_F(CurlTransportTest, EasyHandleThatCannotBeMadeIsReported) {
  curl_.fail_easy_init_at = 2;
  EXPECT_EQ(setup_error(*this, curl_, 3), "curl_easy_init failed");
  expect_released();
}

TEST_F(CurlTransportTest, OptionThatCannotBeSetIsReportedWithLibcurlsReason) {
  curl_.fail_option = CURLOPT_TIMEOUT_MS;
  EXPECT_EQ(setup_error(*this, curl_),
            std::string("could not configure libcurl: ") + curl_easy_strerror(CURLE_UNKNOWN_OPTION));
  expect_released();
}

TEST_F(CurlTransportTest, MultiHandleOptionFailureIsReported) {
  curl_.fail_multi_setopt = true;
  EXPECT_EQ(setup_error(*this, curl_), "could not set up the curl multi handle");
  expect_released();
}

TEST_F(CurlTransportTest, HeaderListFailureIsReported) {
  curl_.fail_headers = true;
  EXPECT_EQ(setup_error(*this, curl_), "could not build request headers");
  expect_released();
}

TEST_F(CurlTransportTest, TransferThatFailsToStartLeavesItsSlotFree) {
  MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  std::string error;
  {
    auto transport = make(settings(server.base_url(), 1), error);
    ASSERT_NE(transport, nullptr) << error;
    curl_.failing_adds = 1;
    EXPECT_FALSE(transport->start(7, body_, false));
    // The one slot is free again: the next start goes through and is answered.
    ASSERT_TRUE(transport->start(8, body_, false));
    const std::vector<HttpResult> done = results(*transport, 1);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].token, 8u);
    EXPECT_EQ(done[0].http_status, 200);
    EXPECT_EQ(done[0].error, TransportError::kNone);
    EXPECT_EQ(server.request_count(), 1u);
  }
  expect_released();
}

TEST_F(CurlTransportTest, AbortWithTransfersInFlightReportsEachOnceAndReleasesEverything) {
  MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  server.push_fault(Fault::never_answer(), 3);
  std::string error;
  {
    auto transport = make(settings(server.base_url(), 3), error);
    ASSERT_NE(transport, nullptr) << error;
    for (std::uint64_t token = 0; token < 3; ++token) ASSERT_TRUE(transport->start(token, body_, false));
    // Run the transfers until the server holds a request. The others wait in libcurl: over
    // plain HTTP (PIPEWAIT) the second request waits to learn whether the first connection
    // multiplexes, which an HTTP/1.1 server tells only by answering.
    const TimePoint deadline = Clock::now() + 10s;
    std::vector<HttpResult> early;
    while (server.request_count() < 1 && Clock::now() < deadline) {
      transport->collect(early);
      transport->wait(20ms);
    }
    ASSERT_GE(server.request_count(), 1u);
    EXPECT_TRUE(early.empty());

    std::vector<HttpResult> aborted;
    transport->abort_all(aborted);
    ASSERT_EQ(aborted.size(), 3u);
    std::set<std::uint64_t> tokens;
    std::size_t on_the_wire = 0;
    for (const HttpResult& r : aborted) {
      tokens.insert(r.token);
      EXPECT_EQ(r.error, TransportError::kAborted);
      EXPECT_EQ(r.http_status, 0);
      on_the_wire += static_cast<std::size_t>(r.requests);
    }
    EXPECT_EQ(tokens, (std::set<std::uint64_t>{0, 1, 2}));
    // The aborted transfers account for exactly the requests the server saw (a request put
    // on the wire just before the abort may still be on its way to the server).
    EXPECT_TRUE(server.wait_for_requests(on_the_wire, 5s));
    EXPECT_EQ(server.request_count(), on_the_wire);
    // Nothing is reported twice, and the slots take new transfers.
    std::vector<HttpResult> later;
    transport->collect(later);
    EXPECT_TRUE(later.empty());
    EXPECT_TRUE(transport->start(9, body_, false));
    std::vector<HttpResult> again;
    transport->abort_all(again);
    EXPECT_EQ(again.size(), 1u);
  }
  server.clear_faults();
  expect_released();
}

// The URL is parsed once, every easy handle reads that one URL handle (CURLOPT_CURLU), and it
// is released with the transport.
TEST_F(CurlTransportTest, TheUrlIsParsedOnceForEveryHandle) {
  MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  std::string error;
  {
    auto transport = make(settings(server.base_url(), 3), error);
    ASSERT_NE(transport, nullptr) << error;
    for (std::uint64_t token = 0; token < 3; ++token) ASSERT_TRUE(transport->start(token, body_, false));
    const std::vector<HttpResult> done = results(*transport, 3);
    ASSERT_EQ(done.size(), 3u);
    for (const HttpResult& r : done) EXPECT_EQ(r.http_status, 200) << r.error_text;
    EXPECT_EQ(server.request_count(), 3u);
    EXPECT_EQ(curl_.url_parses, 1);
    EXPECT_EQ(curl_.pointer_options[CURLOPT_CURLU], 3);
    EXPECT_EQ(curl_.pointer_options[CURLOPT_URL], 0);
    EXPECT_EQ(curl_.url_cleanups, 0);
  }
  EXPECT_EQ(curl_.url_cleanups, 1);
  expect_released();
}

// A URL libcurl cannot parse ahead goes to each handle as text (CURLOPT_URL), as before.
TEST_F(CurlTransportTest, AUrlNotParsedAheadIsGivenAsText) {
  MockIngestServer server;
  ASSERT_TRUE(server.start()) << server.last_error();
  curl_.fail_url_parse = true;
  std::string error;
  {
    auto transport = make(settings(server.base_url(), 2), error);
    ASSERT_NE(transport, nullptr) << error;
    ASSERT_TRUE(transport->start(1, body_, false));
    const std::vector<HttpResult> done = results(*transport, 1);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].http_status, 200) << done[0].error_text;
    EXPECT_EQ(curl_.pointer_options[CURLOPT_CURLU], 0);
    EXPECT_EQ(curl_.pointer_options[CURLOPT_URL], 2);
  }
  EXPECT_EQ(curl_.url_cleanups, 0);
  expect_released();
}

}  // namespace
}  // namespace opsmeter::detail
