// MessageParser: HTTP/1.x requests or responses from bytes, on llhttp (built in strict mode), with
// the checks a proxy must add on top of it: header count and size limits (431), the Host rules of
// RFC 9112 §3.2, transfer codings other than chunked (501, or 400 when chunked is not final),
// absolute-form targets for explicit-proxy use. It stops after each complete message so the
// connection can answer one request before parsing the next (pipelining).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/buffer.h"
#include "llhttp.h"
#include "proxy/http/header_map.h"

namespace meshd::proxy::http::http1 {

struct ParserLimits {
  size_t maxHeadersBytes = 60 * 1024; // Envoy's max_request_headers_kb default
  uint32_t maxHeadersCount = 100;     // Envoy's max_headers_count default
};

// What went wrong, as the status code the peer should get.
struct ParseError {
  int status = 0; // 0: no error
  std::string detail;
};

class MessageParser {
public:
  class Callbacks {
  public:
    virtual ~Callbacks() = default;
    // The message head. Requests carry :method, :path, :authority (and :scheme when the target was
    // absolute), responses :status. `end_stream` when no body follows.
    virtual void onHead(HeaderMap&& headers, bool end_stream) = 0;
    virtual void onBody(std::string_view data) = 0;
    virtual void onComplete() = 0;
  };

  enum class Kind { kRequest, kResponse };
  enum class Result {
    kNeedMore,    // consumed everything; waiting for bytes
    kMessageDone, // one message completed; call parse() again for the next
    kUpgrade,     // CONNECT or Upgrade head parsed; the rest of the input is not HTTP
    kError,       // see error()
  };

  MessageParser(Kind kind, Callbacks& callbacks, ParserLimits limits = {});
  MessageParser(const MessageParser&) = delete;
  MessageParser& operator=(const MessageParser&) = delete;

  // Parses from `input`, draining what it consumed.
  Result parse(core::Buffer& input);
  // After kUpgrade for an upgrade the caller declined: keep parsing HTTP/1 on this connection.
  void resumeAfterUpgrade() { llhttp_resume_after_upgrade(&parser_); }
  // The connection closed: completes a response delimited by close, or reports truncation.
  Result finish();

  // Responses to HEAD (and 1xx/204/304) have no body whatever their headers say.
  void expectNoBody(bool value) { noBody_ = value; }
  const ParseError& error() const { return error_; }
  // After a message: whether the connection may carry another (HTTP/1.1 default, Connection).
  bool keepAlive() const { return keepAlive_; }
  uint8_t httpMinor() const { return minor_; }
  bool inMessage() const { return inMessage_; }

private:
  static MessageParser& self(llhttp_t* parser) {
    return *static_cast<MessageParser*>(parser->data);
  }
  int fail(int status, std::string detail);
  int onHeadersComplete();
  bool accountBytes(size_t n);
  bool followsLineFold(const char* at, size_t n) const;
  // The input byte `distance` positions before `at` ('\0' when unknown).
  char byteBefore(const char* at, size_t distance) const;
  void rememberTail(const char* data, size_t consumed);
  static constexpr size_t kTailBytes = 64;
  int finishHeader();

  Kind kind_;
  Callbacks& callbacks_;
  ParserLimits limits_;
  llhttp_settings_t settings_;
  llhttp_t parser_;
  HeaderMap headers_;
  std::string url_;
  std::string status_;
  std::string field_;
  std::string value_;
  bool fieldDone_ = false;
  size_t headerBytes_ = 0;
  bool noBody_ = false;
  bool interim_ = false;
  bool switching_ = false;
  bool inMessage_ = false;
  bool messageDone_ = false;
  bool keepAlive_ = true;
  uint8_t minor_ = 1;
  ParseError error_;
  const char* chunkBegin_ = nullptr; // the input handed to llhttp right now
  std::string previousTail_;         // the end of the previous input, for checks across chunks
};

} // namespace meshd::proxy::http::http1
