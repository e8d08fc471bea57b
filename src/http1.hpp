// HTTP/1.1 framing for the transport: the request head is built once per client, and
// responses are parsed incrementally as bytes arrive. libcurl still makes the connection
// (DNS, connect, TLS, proxy tunnel); this is only the message format on top of it.
//
// The parser reads what an ingest endpoint can send: a status line, headers, 1xx interim
// responses (skipped), and a body framed by Content-Length, chunked transfer coding, or the
// end of the connection. It keeps the status, Retry-After, the keep-alive decision and the
// first kMaxBody bytes of the body. Pure code: no I/O, no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace opsmeter::detail {

struct RequestTarget {
  std::string host_header;  // "host" or "host:port" as the Host header wants it
  std::string path;         // origin-form: "/v1/ingest/llm-request" plus any "?query"
};

// Everything of a POST request up to and including "Content-Length: "; the caller appends
// the length, a blank line and the body.
std::string request_head_prefix(const RequestTarget& target, std::string_view api_key,
                                std::string_view user_agent);

// Appends a complete request (head + body) to `out`.
void append_request(std::string& out, std::string_view head_prefix, std::string_view body);

class ResponseParser {
 public:
  static constexpr std::size_t kMaxHead = 16 * 1024;
  static constexpr std::size_t kMaxBody = 64 * 1024;  // kept; the rest is read and discarded

  enum class Status { kNeedMore, kDone, kError };

  // Consumes `data`. kDone once a whole final response has been read; bytes after it are an
  // error for a client that never pipelines (the connection must not be reused).
  Status feed(std::string_view data);
  // The peer closed the connection: completes a body that runs to the end of the stream,
  // otherwise an error.
  Status end_of_stream();
  void reset();

  bool started() const noexcept { return started_; }  // any byte of a response seen
  int status_code() const noexcept { return status_code_; }
  bool keep_alive() const noexcept { return keep_alive_ && !trailing_bytes_; }
  const std::string& error() const noexcept { return error_; }
  std::string& body() noexcept { return body_; }
  std::string& retry_after() noexcept { return retry_after_; }

 private:
  enum class Phase {
    kHead,
    kFixed,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailers,
    kToEof,
    kDone
  };

  bool fail(const char* reason);  // always false
  // Each takes bytes from the front of `data` and says whether parsing may go on.
  bool take_head(std::string_view& data);
  bool parse_head(std::string_view head);
  bool parse_header(std::string_view name, std::string_view value);
  bool take_line(std::string_view& data, bool& complete);  // into line_, without CRLF
  bool take_chunk_size(std::string_view& data);
  bool take_trailers(std::string_view& data);
  void keep_body(std::string_view bytes);
  void start_body();

  Phase phase_ = Phase::kHead;
  bool started_ = false;
  bool failed_ = false;
  bool trailing_bytes_ = false;
  int status_code_ = 0;
  bool http10_ = false;
  bool keep_alive_ = true;
  bool chunked_ = false;
  bool has_length_ = false;
  bool other_coding_ = false;    // a transfer coding other than chunked: body runs to EOF
  std::uint64_t remaining_ = 0;  // of the fixed body or the current chunk
  std::string head_;
  std::string line_;
  std::string body_;
  std::string retry_after_;
  std::string error_;
};

}  // namespace opsmeter::detail
