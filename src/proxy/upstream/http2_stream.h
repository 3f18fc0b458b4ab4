// Http2Stream: one request/response exchange as a stream of an upstream Http2Connection, for the
// router's UpstreamRequest (the HttpExchange interface). Response bytes are consumed (the
// server's window reopened) as soon as they were handed on, unless the downstream asked to pause:
// then the server stops at the stream's window. Stream errors become ResetReasons: a reset by the
// server, REFUSED_STREAM (or a stream above a GOAWAY's last id: never processed, safe to retry),
// a malformed response, or the connection ending under it.
#pragma once

#include <cstdint>
#include <memory>

#include "proxy/http/http2/stream_handler.h"
#include "proxy/upstream/http2_connection.h"
#include "proxy/upstream/http_exchange.h"

namespace meshd::proxy::upstream {

class Http2Stream : public HttpExchange, public http::http2::StreamHandler {
public:
  // Holds a reservation on `connection` until sendHead opens the stream.
  explicit Http2Stream(std::shared_ptr<Http2Connection> connection);
  ~Http2Stream() override;

  // HttpExchange
  void sendHead(const http::HeaderMap& headers, bool end_stream, bool body_chunked,
                ResponseHandler* handler) override;
  void sendBody(std::string_view data, bool end_stream) override;
  void sendTrailers(const http::HeaderMap& trailers) override;
  size_t bytesQueued() const override;
  void pauseReading() override { paused_ = true; }
  void resumeReading() override;
  void abort() override;
  bool http2() const override { return true; }

  const Http2Connection& connection() const { return *connection_; }

private:
  // StreamHandler
  void onHead(http::HeaderMap&& headers, bool end_stream) override;
  void onData(std::string_view data, bool end_stream) override;
  void onTrailers(http::HeaderMap&& trailers) override;
  void onClose(const http::http2::StreamClose& close) override;
  void onSendDrained() override;

  void complete();
  void failLater(ResetReason reason);

  std::shared_ptr<Http2Connection> connection_;
  ResponseHandler* handler_ = nullptr;
  int32_t id_ = 0; // 0: not opened
  bool reserved_ = true;
  bool open_ = false;   // the session still knows the stream (and calls us)
  bool closed_ = false; // the session reported its end
  bool paused_ = false;
  bool drainPosted_ = false;
  int inCall_ = 0;  // inside the owner's sendHead/sendBody/sendTrailers: report failures later
  size_t held_ = 0; // received while paused, consumed on resume
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace meshd::proxy::upstream
