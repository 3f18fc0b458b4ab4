// MessageParser (message_parser.h).
#include "proxy/http/http1/message_parser.h"

#include <algorithm>

#include "fmt/format.h"

namespace meshd::proxy::http::http1 {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// The last coding of a Transfer-Encoding list, lowercased.
std::string lastCoding(std::string_view value) {
  const size_t comma = value.rfind(',');
  return toLower(trim(comma == std::string_view::npos ? value : value.substr(comma + 1)));
}

} // namespace

MessageParser::MessageParser(Kind kind, Callbacks& callbacks, ParserLimits limits)
    : kind_(kind), callbacks_(callbacks), limits_(limits) {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = [](llhttp_t* p) -> int {
    MessageParser& m = self(p);
    m.inMessage_ = true;
    m.headers_ = HeaderMap();
    m.url_.clear();
    m.status_.clear();
    m.field_.clear();
    m.value_.clear();
    m.fieldDone_ = false;
    m.headerBytes_ = 0;
    return 0;
  };
  settings_.on_url = [](llhttp_t* p, const char* at, size_t n) -> int {
    MessageParser& m = self(p);
    if (!m.accountBytes(n)) {
      return -1;
    }
    // Exactly one SP between method and target (RFC 9112 §3); llhttp skips extra ones.
    if (m.url_.empty() && m.byteBefore(at, 2) == ' ') {
      return m.fail(400, "invalid request line");
    }
    m.url_.append(at, n);
    return 0;
  };
  settings_.on_status = [](llhttp_t* p, const char* at, size_t n) -> int {
    MessageParser& m = self(p);
    if (!m.accountBytes(n)) {
      return -1;
    }
    m.status_.append(at, n);
    return 0;
  };
  settings_.on_header_field = [](llhttp_t* p, const char* at, size_t n) -> int {
    MessageParser& m = self(p);
    if (!m.accountBytes(n)) {
      return -1;
    }
    m.field_.append(at, n);
    return 0;
  };
  settings_.on_header_value = [](llhttp_t* p, const char* at, size_t n) -> int {
    MessageParser& m = self(p);
    if (!m.accountBytes(n)) {
      return -1;
    }
    if (m.followsLineFold(at, n)) {
      return m.fail(400, "obsolete line folding in a header value"); // RFC 9112 §5.2
    }
    m.value_.append(at, n);
    return 0;
  };
  settings_.on_header_field_complete = [](llhttp_t* p) -> int {
    self(p).fieldDone_ = true;
    return 0;
  };
  settings_.on_header_value_complete = [](llhttp_t* p) -> int { return self(p).finishHeader(); };
  settings_.on_headers_complete = [](llhttp_t* p) -> int { return self(p).onHeadersComplete(); };
  settings_.on_body = [](llhttp_t* p, const char* at, size_t n) -> int {
    self(p).callbacks_.onBody(std::string_view(at, n));
    return 0;
  };
  settings_.on_message_complete = [](llhttp_t* p) -> int {
    MessageParser& m = self(p);
    if (m.interim_) {
      m.interim_ = false;
      return 0; // keep parsing: the final response is next
    }
    if (m.switching_) {
      return 0; // llhttp stops with HPE_PAUSED_UPGRADE next
    }
    m.keepAlive_ = llhttp_should_keep_alive(p) != 0;
    m.inMessage_ = false;
    m.messageDone_ = true;
    m.callbacks_.onComplete();
    return HPE_PAUSED;
  };
  llhttp_init(&parser_, kind == Kind::kRequest ? HTTP_REQUEST : HTTP_RESPONSE, &settings_);
  parser_.data = this;
}

bool MessageParser::followsLineFold(const char* at, size_t n) const {
  // llhttp hands a folded continuation over as a value span that starts with the fold's
  // whitespace right after the LF (or after more whitespace). The bytes before `at` are in the
  // chunk being parsed or, at its very start, in the tail kept from the previous chunk.
  bool whitespace = n > 0 && (at[0] == ' ' || at[0] == '\t');
  const char* p = at;
  while (p > chunkBegin_ && (p[-1] == ' ' || p[-1] == '\t')) {
    --p;
    whitespace = true;
  }
  if (p > chunkBegin_) {
    return whitespace && p[-1] == '\n';
  }
  size_t i = previousTail_.size();
  while (i > 0 && (previousTail_[i - 1] == ' ' || previousTail_[i - 1] == '\t')) {
    --i;
    whitespace = true;
  }
  return whitespace && i > 0 && previousTail_[i - 1] == '\n';
}

char MessageParser::byteBefore(const char* at, size_t distance) const {
  if (static_cast<size_t>(at - chunkBegin_) >= distance) {
    return at[-static_cast<ptrdiff_t>(distance)];
  }
  const size_t fromTail = distance - static_cast<size_t>(at - chunkBegin_);
  return fromTail <= previousTail_.size() ? previousTail_[previousTail_.size() - fromTail] : '\0';
}

bool MessageParser::accountBytes(size_t n) {
  headerBytes_ += n;
  if (headerBytes_ > limits_.maxHeadersBytes) {
    fail(431, "headers too large");
    return false;
  }
  return true;
}

int MessageParser::finishHeader() {
  if (!fieldDone_) {
    return 0;
  }
  if (headers_.size() + 1 > limits_.maxHeadersCount) {
    return fail(431, "too many headers");
  }
  if (field_.empty()) {
    return fail(400, "empty header name");
  }
  // Header values may not carry CR or LF (obs-fold, bare CR): llhttp's strict mode already stops
  // most; this guards the rest.
  if (value_.find_first_of("\r\n") != std::string::npos) {
    return fail(400, "invalid header value");
  }
  headers_.add(field_, trim(value_));
  field_.clear();
  value_.clear();
  fieldDone_ = false;
  return 0;
}

int MessageParser::fail(int status, std::string detail) {
  if (error_.status == 0) {
    error_ = ParseError{status, std::move(detail)};
  }
  return -1;
}

int MessageParser::onHeadersComplete() {
  minor_ = llhttp_get_http_minor(&parser_);
  const uint8_t major = llhttp_get_http_major(&parser_);
  if (major != 1) {
    return fail(kind_ == Kind::kRequest ? 505 : 502, "unsupported HTTP version");
  }
  HeaderMap head = std::move(headers_);
  headers_ = HeaderMap();
  bool endStream = false;
  if (kind_ == Kind::kRequest) {
    const auto* method =
        llhttp_method_name(static_cast<llhttp_method_t>(llhttp_get_method(&parser_)));
    // Transfer-Encoding: only "chunked", last, and only in HTTP/1.1 (RFC 9112 §6.1).
    if (const auto te = head.getJoined("transfer-encoding")) {
      if (minor_ == 0 || lastCoding(*te) != "chunked") {
        return fail(400, "invalid transfer-encoding");
      }
      if (toLower(trim(*te)) != "chunked") {
        return fail(501, "unsupported transfer-encoding");
      }
      // What we read as "chunked" llhttp must frame as chunked too (it does not take a trailing
      // tab, for one): otherwise the body would be parsed as the next request.
      if (!(parser_.flags & F_CHUNKED)) {
        return fail(400, "invalid transfer-encoding");
      }
    }
    // A CONNECT request has no content (RFC 9110 §9.3.6): bytes after its head belong to the
    // tunnel, so a framing header on it can only be an attempt to disagree with another parser.
    if (std::string_view(method) == "CONNECT" &&
        ((parser_.flags & F_CHUNKED) ||
         ((parser_.flags & F_CONTENT_LENGTH) && parser_.content_length != 0))) {
      return fail(400, "CONNECT request with a body");
    }
    // Host: exactly one in HTTP/1.1 (RFC 9112 §3.2).
    const size_t hosts = head.count("host");
    if (hosts > 1 || (hosts == 0 && minor_ == 1)) {
      return fail(400, hosts > 1 ? "multiple host headers" : "missing host header");
    }
    std::string authority(head.get("host").value_or(""));
    std::string path = url_;
    std::string scheme;
    // Absolute form (explicit proxy use): the target's authority wins over Host.
    if (const size_t sep = url_.find("://"); sep != std::string::npos && url_[0] != '/') {
      scheme = toLower(url_.substr(0, sep));
      const size_t pathStart = url_.find('/', sep + 3);
      authority = url_.substr(sep + 3, pathStart == std::string::npos ? std::string::npos
                                                                      : pathStart - sep - 3);
      path = pathStart == std::string::npos ? "/" : url_.substr(pathStart);
      if (authority.empty() || (scheme != "http" && scheme != "https")) {
        return fail(400, "invalid absolute URI");
      }
    } else if (url_.empty() ||
               (url_[0] != '/' && url_ != "*" && std::string_view(method) != "CONNECT")) {
      return fail(400, "invalid request target");
    }
    head.remove("host");
    // Pseudo-headers first, as HTTP/2 orders them.
    HeaderMap ordered;
    ordered.add(":method", method);
    ordered.add(":path", path);
    ordered.add(":authority", authority);
    if (!scheme.empty()) {
      ordered.add(":scheme", scheme);
    }
    for (auto& [name, value] : head.entries()) {
      ordered.add(name, value);
    }
    head = std::move(ordered);
    endStream = !(parser_.flags & (F_CHUNKED | F_CONTENT_LENGTH)) ||
                ((parser_.flags & F_CONTENT_LENGTH) && parser_.content_length == 0);
  } else {
    const int code = llhttp_get_status_code(&parser_);
    if (code < 100 || code > 599) {
      return fail(502, "invalid status code"); // three digits (RFC 9112 §4), in a known class
    }
    HeaderMap ordered;
    ordered.add(":status", std::to_string(code));
    for (auto& [name, value] : head.entries()) {
      ordered.add(name, value);
    }
    head = std::move(ordered);
    if (code == 101) {
      // Switching Protocols: the bytes after this head belong to the new protocol, and the
      // message does not "complete" (the caller sees kUpgrade instead).
      switching_ = true;
      callbacks_.onHead(std::move(head), false);
      return 2; // no body, upgrade: llhttp stops with HPE_PAUSED_UPGRADE
    }
    if (code >= 100 && code < 200) {
      interim_ = true; // 100 Continue and friends: skipped, the final response follows
      return 1;
    }
    const bool bodiless = noBody_ || code == 204 || code == 304;
    if (const auto te = head.getJoined("transfer-encoding");
        te && !bodiless && lastCoding(*te) == "chunked" && !(parser_.flags & F_CHUNKED)) {
      return fail(502, "invalid transfer-encoding"); // read as chunked here, not by llhttp
    }
    const bool framed = parser_.flags & (F_CHUNKED | F_CONTENT_LENGTH);
    endStream = bodiless || (framed && !(parser_.flags & F_CHUNKED) && parser_.content_length == 0);
    if (bodiless) {
      callbacks_.onHead(std::move(head), true);
      return 1; // tells llhttp there is no body
    }
  }
  callbacks_.onHead(std::move(head), endStream);
  return 0;
}

MessageParser::Result MessageParser::parse(core::Buffer& input) {
  if (error_.status != 0) {
    return Result::kError;
  }
  messageDone_ = false;
  while (!input.empty()) {
    // Parse slice by slice; llhttp keeps its state across calls.
    std::span<const uint8_t> slice[1];
    input.slices(slice);
    const auto* data = reinterpret_cast<const char*>(slice[0].data());
    chunkBegin_ = data;
    const llhttp_errno_t rc = llhttp_execute(&parser_, data, slice[0].size());
    rememberTail(data, llhttp_get_error_pos(&parser_) != nullptr && rc != HPE_OK
                           ? static_cast<size_t>(llhttp_get_error_pos(&parser_) - data)
                           : slice[0].size());
    if (rc == HPE_OK) {
      input.drain(slice[0].size());
      continue;
    }
    if (rc == HPE_PAUSED && messageDone_) {
      input.drain(static_cast<size_t>(llhttp_get_error_pos(&parser_) - data));
      llhttp_resume(&parser_);
      return Result::kMessageDone;
    }
    if (rc == HPE_PAUSED_UPGRADE) {
      input.drain(static_cast<size_t>(llhttp_get_error_pos(&parser_) - data));
      return Result::kUpgrade;
    }
    if (error_.status == 0) {
      const char* reason = llhttp_get_error_reason(&parser_);
      error_ = ParseError{kind_ == Kind::kRequest ? 400 : 502,
                          fmt::format("{}: {}", llhttp_errno_name(rc), reason ? reason : "")};
    }
    return Result::kError;
  }
  return Result::kNeedMore;
}

void MessageParser::rememberTail(const char* data, size_t consumed) {
  // Keep the last few consumed bytes: enough to see "LF + whitespace" across a chunk boundary.
  const std::string_view chunk(data, consumed);
  previousTail_.append(chunk.substr(chunk.size() > kTailBytes ? chunk.size() - kTailBytes : 0));
  if (previousTail_.size() > kTailBytes) {
    previousTail_.erase(0, previousTail_.size() - kTailBytes);
  }
}

MessageParser::Result MessageParser::finish() {
  if (error_.status != 0) {
    return Result::kError;
  }
  if (!inMessage_) {
    return Result::kNeedMore; // closed between messages: nothing was cut short
  }
  messageDone_ = false;
  const llhttp_errno_t rc = llhttp_finish(&parser_);
  if (messageDone_) {
    return Result::kMessageDone; // a body delimited by the close
  }
  if (rc != HPE_OK || inMessage_) {
    error_ = ParseError{kind_ == Kind::kRequest ? 400 : 502, "connection closed mid-message"};
    return Result::kError;
  }
  return Result::kNeedMore;
}

} // namespace meshd::proxy::http::http1
