// HTTP/1.1 request head and incremental response parser (see http1.hpp).
#include "http1.hpp"

#include <strings.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace opsmeter::detail {
namespace {

constexpr std::size_t kMaxLine = 1024;  // chunk-size and trailer lines
constexpr std::size_t kMaxRetryAfter = 128;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Calls `f` with each comma-separated, trimmed token of a header value.
template <typename F>
void for_each_token(std::string_view value, F f) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    f(trim(value.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

}  // namespace

std::string request_head_prefix(const RequestTarget& target, std::string_view api_key,
                                std::string_view user_agent) {
  std::string head;
  head.reserve(160 + target.path.size() + target.host_header.size() + api_key.size() +
               user_agent.size());
  head.append("POST ").append(target.path).append(" HTTP/1.1\r\nHost: ");
  head.append(target.host_header).append("\r\n");
  head.append("Content-Type: application/json\r\nAccept: application/json\r\n");
  head.append("X-API-Key: ").append(api_key).append("\r\n");
  head.append("User-Agent: ").append(user_agent).append("\r\n");
  head.append("Content-Length: ");
  return head;
}

void append_request(std::string& out, std::string_view head_prefix, std::string_view body) {
  char digits[24];
  const auto length = std::to_chars(digits, digits + sizeof digits, body.size()).ptr;
  out.reserve(out.size() + head_prefix.size() + 24 + body.size());
  out.append(head_prefix).append(digits, length).append("\r\n\r\n").append(body);
}

ResponseParser::Status ResponseParser::feed(std::string_view data) {
  if (failed_) return Status::kError;
  if (!data.empty()) started_ = true;
  while (!data.empty() && phase_ != Phase::kDone) {
    bool ok = true;
    switch (phase_) {
      case Phase::kHead:
        ok = take_head(data);
        break;
      case Phase::kFixed:
      case Phase::kChunkData: {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, data.size()));
        keep_body(data.substr(0, n));
        data.remove_prefix(n);
        remaining_ -= n;
        if (remaining_ == 0) phase_ = phase_ == Phase::kFixed ? Phase::kDone : Phase::kChunkDataEnd;
        break;
      }
      case Phase::kChunkDataEnd: {
        bool complete = false;
        ok = take_line(data, complete);
        if (ok && complete) {
          if (!line_.empty()) ok = fail("chunk data longer than its size");
          line_.clear();
          phase_ = Phase::kChunkSize;
        }
        break;
      }
      case Phase::kChunkSize:
        ok = take_chunk_size(data);
        break;
      case Phase::kTrailers:
        ok = take_trailers(data);
        break;
      case Phase::kToEof:
        keep_body(data);
        data = std::string_view();
        break;
      case Phase::kDone:
        break;
    }
    if (!ok) return Status::kError;
  }
  if (phase_ != Phase::kDone) return Status::kNeedMore;
  if (!data.empty()) trailing_bytes_ = true;
  return Status::kDone;
}

ResponseParser::Status ResponseParser::end_of_stream() {
  if (failed_) return Status::kError;
  if (phase_ == Phase::kToEof) {
    phase_ = Phase::kDone;
    keep_alive_ = false;
  }
  if (phase_ == Phase::kDone) return Status::kDone;
  fail(started_ ? "connection closed in the middle of the response"
                : "connection closed before any response");
  return Status::kError;
}

void ResponseParser::reset() {
  phase_ = Phase::kHead;
  started_ = failed_ = trailing_bytes_ = false;
  status_code_ = 0;
  http10_ = false;
  keep_alive_ = true;
  chunked_ = has_length_ = other_coding_ = false;
  remaining_ = 0;
  head_.clear();
  line_.clear();
  body_.clear();
  retry_after_.clear();
  error_.clear();
}

bool ResponseParser::fail(const char* reason) {
  failed_ = true;
  keep_alive_ = false;
  error_ = reason;
  return false;
}

bool ResponseParser::take_head(std::string_view& data) {
  const std::size_t old = head_.size();
  if (old >= kMaxHead) return fail("response head too large");
  const std::size_t take = std::min(data.size(), kMaxHead - old);
  head_.append(data.data(), take);
  const std::size_t from = old >= 3 ? old - 3 : 0;
  std::size_t end = std::string::npos;
  const std::size_t crlf = head_.find("\r\n\r\n", from);
  if (crlf != std::string::npos) end = crlf + 4;
  const std::size_t lf = head_.find("\n\n", from);
  if (lf != std::string::npos) end = std::min(end, lf + 2);
  if (end == std::string::npos) {
    data.remove_prefix(take);
    if (head_.size() >= kMaxHead) return fail("response head too large");
    return true;
  }
  data.remove_prefix(end - old);
  head_.resize(end);
  if (!parse_head(head_)) return false;
  head_.clear();
  if (status_code_ >= 100 && status_code_ < 200) return true;  // interim; the real one follows
  start_body();
  return true;
}

bool ResponseParser::parse_head(std::string_view head) {
  keep_alive_ = true;
  chunked_ = has_length_ = other_coding_ = false;
  remaining_ = 0;
  retry_after_.clear();
  std::size_t newline = head.find('\n');
  const std::string_view status_line = trim(head.substr(0, newline));
  // "HTTP/1.x SSS reason"
  if (status_line.size() < 12 || status_line.compare(0, 7, "HTTP/1.") != 0 ||
      (status_line[7] != '0' && status_line[7] != '1') || status_line[8] != ' ') {
    return fail("malformed HTTP status line");
  }
  int code = 0;
  const auto parsed = std::from_chars(status_line.data() + 9, status_line.data() + 12, code);
  if (parsed.ec != std::errc() || parsed.ptr != status_line.data() + 12 || code < 100 ||
      code > 599 || (status_line.size() > 12 && status_line[12] != ' ')) {
    return fail("malformed HTTP status line");
  }
  if (code == 101) return fail("unexpected 101 Switching Protocols");
  status_code_ = code;
  http10_ = status_line[7] == '0';
  keep_alive_ = !http10_;
  head.remove_prefix(newline + 1);
  while (!head.empty()) {
    newline = head.find('\n');
    const std::string_view line = trim(head.substr(0, newline));
    head.remove_prefix(newline == std::string_view::npos ? head.size() : newline + 1);
    if (line.empty()) break;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail("malformed HTTP header line");
    if (!parse_header(line.substr(0, colon), trim(line.substr(colon + 1)))) return false;
  }
  return true;
}

bool ResponseParser::parse_header(std::string_view name, std::string_view value) {
  if (iequals(name, "content-length")) {
    std::uint64_t length = 0;
    const auto parsed = std::from_chars(value.data(), value.data() + value.size(), length);
    if (value.empty() || parsed.ec != std::errc() || parsed.ptr != value.data() + value.size()) {
      return fail("malformed Content-Length");
    }
    if (has_length_ && length != remaining_) return fail("conflicting Content-Length headers");
    has_length_ = true;
    remaining_ = length;
  } else if (iequals(name, "transfer-encoding")) {
    // Chunked must be the last coding; any other coding frames the body by the connection end.
    chunked_ = false;
    other_coding_ = false;
    for_each_token(value, [this](std::string_view token) {
      chunked_ = iequals(token, "chunked");
      if (!chunked_ && !token.empty()) other_coding_ = true;
    });
    if (chunked_) other_coding_ = false;
  } else if (iequals(name, "connection")) {
    for_each_token(value, [this](std::string_view token) {
      if (iequals(token, "close")) keep_alive_ = false;
      if (iequals(token, "keep-alive") && http10_) keep_alive_ = true;
    });
  } else if (iequals(name, "retry-after")) {
    retry_after_.assign(value.substr(0, kMaxRetryAfter));
  }
  return true;
}

void ResponseParser::start_body() {
  if (status_code_ == 204 || status_code_ == 304) {
    phase_ = Phase::kDone;
  } else if (chunked_) {
    phase_ = Phase::kChunkSize;
  } else if (other_coding_ || !has_length_) {
    phase_ = Phase::kToEof;
    keep_alive_ = false;
  } else {
    phase_ = remaining_ == 0 ? Phase::kDone : Phase::kFixed;
  }
}

bool ResponseParser::take_line(std::string_view& data, bool& complete) {
  const std::size_t newline = data.find('\n');
  const std::size_t take = newline == std::string_view::npos ? data.size() : newline;
  if (line_.size() + take > kMaxLine) return fail("chunk line too long");
  line_.append(data.data(), take);
  data.remove_prefix(newline == std::string_view::npos ? take : take + 1);
  complete = newline != std::string_view::npos;
  if (complete && !line_.empty() && line_.back() == '\r') line_.pop_back();
  return true;
}

bool ResponseParser::take_chunk_size(std::string_view& data) {
  bool complete = false;
  if (!take_line(data, complete) || !complete) return !failed_;
  std::string_view digits = line_;
  digits = trim(digits.substr(0, digits.find(';')));
  std::uint64_t size = 0;
  const auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
  line_.clear();
  if (digits.empty() || digits.size() > 15 || parsed.ec != std::errc() ||
      parsed.ptr != digits.data() + digits.size()) {
    return fail("malformed chunk size");
  }
  remaining_ = size;
  phase_ = size == 0 ? Phase::kTrailers : Phase::kChunkData;
  return true;
}

bool ResponseParser::take_trailers(std::string_view& data) {
  while (!data.empty()) {
    bool complete = false;
    if (!take_line(data, complete)) return false;
    if (!complete) return true;
    const bool last = line_.empty();
    line_.clear();
    if (last) {
      phase_ = Phase::kDone;
      return true;
    }
  }
  return true;
}

void ResponseParser::keep_body(std::string_view bytes) {
  const std::size_t room = kMaxBody - std::min(kMaxBody, body_.size());
  body_.append(bytes.data(), std::min(room, bytes.size()));
}

}  // namespace opsmeter::detail
