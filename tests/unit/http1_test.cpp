// HTTP/1.1 framing: the request head, and the response parser fed every response of the table
// whole, split in two at every byte, and one byte at a time.
#include "http1.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace opsmeter::detail {
namespace {

TEST(Http1Request, HeadAndBody) {
  RequestTarget target{"127.0.0.1:8080", "/v1/ingest/llm-request"};
  std::string out;
  append_request(out, request_head_prefix(target, "key-1", "opsmeter-cpp/0.1.0"), R"({"a":1})");
  EXPECT_EQ(out,
            "POST /v1/ingest/llm-request HTTP/1.1\r\n"
            "Host: 127.0.0.1:8080\r\n"
            "Content-Type: application/json\r\n"
            "Accept: application/json\r\n"
            "X-API-Key: key-1\r\n"
            "User-Agent: opsmeter-cpp/0.1.0\r\n"
            "Content-Length: 7\r\n"
            "\r\n"
            R"({"a":1})");
}

struct Row {
  const char* name;
  std::string wire;
  bool ok;  // false: the parser must report an error
  int status = 0;
  std::string body;
  bool keep_alive = true;
  std::string retry_after;
  bool needs_eof = false;  // complete only when the peer closes
};

void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

Row good(const char* name, std::string wire, int status, std::string body, bool keep_alive = true,
         std::string retry_after = "", bool needs_eof = false) {
  return Row{name,       std::move(wire),        true,     status, std::move(body),
             keep_alive, std::move(retry_after), needs_eof};
}

Row bad(const char* name, std::string wire) {
  return Row{name, std::move(wire), false, 0, "", false, "", false};
}

std::vector<Row> rows() {
  return {
      good("content_length", "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"ok\":true}", 200,
           R"({"ok":true})"),
      good("empty_body", "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", 202, ""),
      good("no_content", "HTTP/1.1 204 No Content\r\n\r\n", 204, ""),
      good("connection_close",
           "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", 200, "{}", false),
      good("http10_default_close", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", 200, "{}",
           false),
      good("http10_keep_alive",
           "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\n{}", 200, "{}",
           true),
      good("retry_after_and_case",
           "HTTP/1.1 429 Too Many Requests\r\nretry-AFTER:  7 \r\ncontent-length: 2\r\n\r\n{}", 429,
           "{}", true, "7"),
      good("http_date_retry_after",
           "HTTP/1.1 503 Unavailable\r\nRetry-After: Wed, 21 Oct 2026 07:28:00 "
           "GMT\r\nContent-Length: 0\r\n\r\n",
           503, "", true, "Wed, 21 Oct 2026 07:28:00 GMT"),
      good("chunked",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
           "chunked\r\n\r\n4\r\n{\"ok\r\n7;ext=1\r\n\":true}\r\n0\r\n\r\n",
           200, R"({"ok":true})"),
      good("chunked_trailers",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-T: 1\r\n\r\n",
           200, "{}"),
      good("chunked_upper_hex",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", 200,
           "0123456789"),
      good("interim_100_skipped",
           "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}", 201,
           "{}"),
      good("bare_lf_lines", "HTTP/1.1 200 OK\nContent-Length: 2\n\n{}", 200, "{}"),
      good("no_reason_phrase", "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\n{}", 200, "{}"),
      good("body_until_close", "HTTP/1.1 200 OK\r\n\r\n{\"x\":1}", 200, R"({"x":1})", false, "",
           true),
      good("other_coding_until_close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc", 200,
           "abc", false, "", true),
      bad("not_http", "SSH-2.0-OpenSSH_9.2\r\n\r\n"),
      bad("bad_status_code", "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n"),
      bad("switching_protocols", "HTTP/1.1 101 Switching Protocols\r\n\r\n"),
      bad("bad_content_length", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n{}"),
      bad("conflicting_lengths",
          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"),
      bad("header_without_colon", "HTTP/1.1 200 OK\r\nbroken\r\nContent-Length: 0\r\n\r\n"),
      bad("bad_chunk_size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
      bad("chunk_longer_than_size",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n"),
  };
}

struct Outcome {
  ResponseParser::Status status = ResponseParser::Status::kNeedMore;
  int code = 0;
  std::string body;
  bool keep_alive = false;
  std::string retry_after;
};

// Feeds `pieces` in order, then the end of the stream if the response needs it.
Outcome parse(const std::vector<std::string>& pieces, bool close_at_end) {
  ResponseParser parser;
  Outcome out;
  for (const std::string& piece : pieces) {
    out.status = parser.feed(piece);
    if (out.status != ResponseParser::Status::kNeedMore) break;
  }
  if (out.status == ResponseParser::Status::kNeedMore && close_at_end)
    out.status = parser.end_of_stream();
  out.code = parser.status_code();
  out.body = parser.body();
  out.keep_alive = parser.keep_alive();
  out.retry_after = parser.retry_after();
  return out;
}

void expect_row(const Row& row, const Outcome& out, const std::string& how) {
  SCOPED_TRACE(std::string(row.name) + " fed " + how);
  if (!row.ok) {
    EXPECT_EQ(out.status, ResponseParser::Status::kError);
    EXPECT_FALSE(out.keep_alive);
    return;
  }
  ASSERT_EQ(out.status, ResponseParser::Status::kDone);
  EXPECT_EQ(out.code, row.status);
  EXPECT_EQ(out.body, row.body);
  EXPECT_EQ(out.keep_alive, row.keep_alive);
  EXPECT_EQ(out.retry_after, row.retry_after);
}

class Http1Response : public ::testing::TestWithParam<Row> {};

TEST_P(Http1Response, WholeSplitAndByteByByte) {
  const Row& row = GetParam();
  expect_row(row, parse({row.wire}, true), "whole");
  for (std::size_t cut = 1; cut < row.wire.size(); ++cut) {
    expect_row(row, parse({row.wire.substr(0, cut), row.wire.substr(cut)}, true),
               "split at " + std::to_string(cut));
  }
  std::vector<std::string> bytes;
  for (char c : row.wire) bytes.emplace_back(1, c);
  expect_row(row, parse(bytes, true), "byte by byte");
  if (row.ok) {
    // Only a body framed by the connection end needs the peer to close.
    EXPECT_EQ(parse({row.wire}, false).status,
              row.needs_eof ? ResponseParser::Status::kNeedMore : ResponseParser::Status::kDone);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, Http1Response, ::testing::ValuesIn(rows()),
                         [](const ::testing::TestParamInfo<Row>& row) {
                           return std::string(row.param.name);
                         });

TEST(Http1ResponseLimits, TruncatedResponseIsAnErrorAtEndOfStream) {
  ResponseParser parser;
  EXPECT_EQ(parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}"),
            ResponseParser::Status::kNeedMore);
  EXPECT_EQ(parser.end_of_stream(), ResponseParser::Status::kError);
  EXPECT_EQ(parser.error(), "connection closed in the middle of the response");
}

TEST(Http1ResponseLimits, NothingReceivedIsAnErrorAtEndOfStream) {
  ResponseParser parser;
  EXPECT_EQ(parser.end_of_stream(), ResponseParser::Status::kError);
  EXPECT_FALSE(parser.started());
  EXPECT_EQ(parser.error(), "connection closed before any response");
}

TEST(Http1ResponseLimits, BodyIsCappedButFullyConsumed) {
  const std::size_t size = ResponseParser::kMaxBody + 1000;
  ResponseParser parser;
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n";
  EXPECT_EQ(parser.feed(head), ResponseParser::Status::kNeedMore);
  EXPECT_EQ(parser.feed(std::string(size, 'x')), ResponseParser::Status::kDone);
  EXPECT_EQ(parser.body().size(), ResponseParser::kMaxBody);
  EXPECT_TRUE(parser.keep_alive());
}

TEST(Http1ResponseLimits, EndlessHeadIsRejected) {
  ResponseParser parser;
  EXPECT_EQ(parser.feed("HTTP/1.1 200 OK\r\n"), ResponseParser::Status::kNeedMore);
  ResponseParser::Status status = ResponseParser::Status::kNeedMore;
  for (int i = 0; i < 2000 && status == ResponseParser::Status::kNeedMore; ++i)
    status = parser.feed("X-Pad: 0123456789\r\n");
  EXPECT_EQ(status, ResponseParser::Status::kError);
  EXPECT_EQ(parser.error(), "response head too large");
}

TEST(Http1ResponseLimits, BytesAfterTheResponseForbidReuse) {
  ResponseParser parser;
  EXPECT_EQ(parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1"),
            ResponseParser::Status::kDone);
  EXPECT_FALSE(parser.keep_alive());
}

TEST(Http1ResponseLimits, ResetMakesTheParserReusable) {
  ResponseParser parser;
  EXPECT_EQ(parser.feed("garbage\r\n\r\n"), ResponseParser::Status::kError);
  parser.reset();
  EXPECT_FALSE(parser.started());
  EXPECT_EQ(parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"),
            ResponseParser::Status::kDone);
  EXPECT_EQ(parser.status_code(), 200);
  EXPECT_EQ(parser.body(), "{}");
  EXPECT_TRUE(parser.error().empty());
}

}  // namespace
}  // namespace opsmeter::detail
