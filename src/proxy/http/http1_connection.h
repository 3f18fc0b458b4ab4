// Http1ServerConnection: the HTTP/1.1 side of a downstream connection. It parses requests one at
// a time (pipelined ones wait, with reading paused), hands each to an ActiveStream, and frames its
// response (content-length, chunked, or close-delimited for HTTP/1.0; Connection: close when the
// connection ends after it). It also relays an accepted upgrade (websocket) as a tunnel, answers
// Expect: 100-continue, and keeps the connection and stream idle timeouts.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "proxy/http/active_stream.h"
#include "proxy/http/connection_context.h"
#include "proxy/http/http1/message_parser.h"
#include "proxy/http/idle_timers.h"
#include "proxy/http/response_encoder.h"
#include "proxy/http/server_connection.h"
#include "proxy/network/stream_socket.h"

namespace meshd::proxy::http {

class Http1ServerConnection : public ServerConnection,
                              public http1::MessageParser::Callbacks,
                              public ResponseEncoder,
                              public IdleTimers::Callbacks {
public:
  // `socket` outlives this object (the connection manager owns both).
  Http1ServerConnection(ConnectionContext& context, network::StreamSocket& socket);
  ~Http1ServerConnection() override;

  // ServerConnection
  void start() override;
  void onReadable(core::Buffer& input, bool eof) override;
  void onWriteDrained() override;
  void onSocketError() override;
  // A tunnel closes at once too.
  void endDrain() override;

private:
  // What HTTP/1 framing needs to know of the exchange in progress.
  struct Exchange {
    bool requestComplete = false;
    bool headRequest = false;
    bool responseChunked = false;
    bool closeAfterResponse = false;
    std::string upgrade; // the upgrade this request asks for ("websocket"), if any
    bool tunnel = false; // upgrade accepted: raw bytes both ways from now on
  };

  // MessageParser::Callbacks
  void onHead(HeaderMap&& headers, bool end_stream) override;
  void onBody(std::string_view data) override;
  void onComplete() override;
  // ResponseEncoder
  void encodeHead(HeaderMap& headers, bool end_stream) override;
  void encodeData(std::string_view data, bool end_stream) override;
  void encodeTrailers(HeaderMap&& trailers) override;
  void resetStream() override;
  bool responseBufferFull() const override;
  void pauseRequestBody() override;
  void resumeRequestBody() override;
  void streamActivity() override { idleTimers_.streamActivity(); }
  void setStreamIdleTimeout(std::chrono::milliseconds timeout) override {
    idleTimers_.setStreamIdleTimeout(timeout);
  }
  bool http2() const override { return false; }
  // IdleTimers::Callbacks
  void onConnectionIdleTimeout() override;
  void onStreamIdleTimeout() override;

  void parseMore(core::Buffer& input);
  void forwardTunnelBytes(core::Buffer& input);
  void startStream();
  // HTTP/1 request rules: HTTP/1.0 keep-alive, Connection: close, Expect: 100-continue.
  void applyConnectionRules(HeaderMap& request);
  // The upgrade the request asks for ("" when none, or when it is declined and removed).
  std::string takeUpgrade(HeaderMap& request);
  void protocolError(const http1::ParseError& error);
  // The response ended: the next pipelined request may start, or the connection ends.
  void endStream();
  void closeConnection();

  ConnectionContext& context_;
  network::StreamSocket& socket_;
  http1::MessageParser parser_;
  IdleTimers idleTimers_;
  std::unique_ptr<ActiveStream> stream_;
  Exchange exchange_;
  uint32_t requestCount_ = 0;
  bool closing_ = false;
  bool readingPausedForResponse_ = false;
  bool declinedUpgrade_ = false; // the current request offered h2c; it stays HTTP/1.1
};

} // namespace meshd::proxy::http
