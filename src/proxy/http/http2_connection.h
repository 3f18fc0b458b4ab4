// Http2ServerConnection: the HTTP/2 side of a downstream connection (h2c with prior knowledge).
// It feeds the socket's bytes to the nghttp2 server session (http2::ServerSession), serves every
// request stream with its own Http2ServerStream (and ActiveStream), and ends the connection the
// HTTP/2 way: GOAWAY on drain, on the connection idle timeout, at max_requests_per_connection or
// when the overload manager disables keep-alive, then close once the open streams finished.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "proxy/http/connection_context.h"
#include "proxy/http/http2/server_session.h"
#include "proxy/http/idle_timers.h"
#include "proxy/http/server_connection.h"
#include "proxy/network/stream_socket.h"

namespace meshd::proxy::http {

class Http2ServerStream;

class Http2ServerConnection : public ServerConnection,
                              public http2::ServerSession::Callbacks,
                              public IdleTimers::Callbacks {
public:
  // `socket` outlives this object (the connection manager owns both).
  Http2ServerConnection(ConnectionContext& context, network::StreamSocket& socket);
  ~Http2ServerConnection() override;

  // ServerConnection
  void start() override;
  void onReadable(core::Buffer& input, bool eof) override;
  void onWriteDrained() override;
  void onSocketError() override;
  void endDrain() override;

  // For the streams.
  http2::ServerSession& session() { return session_; }
  ConnectionContext& context() { return context_; }
  size_t socketBytesQueued() const { return socket_.bytesQueued(); }
  // The stream is finished with (closed, or reset by us): it goes after the current call.
  void removeStream(int32_t stream_id);
  // No new streams after the open ones (GOAWAY); the connection closes when they end.
  void shutdownGracefully();
  // The stream's response queue emptied: its upstream may send more, from the event loop.
  void resumeStreamLater(int32_t stream_id);

private:
  // ServerSession::Callbacks
  http2::StreamHandler* onNewStream(int32_t stream_id) override;
  void onOutput(core::Buffer& data) override;
  void onSessionDone() override;
  // IdleTimers::Callbacks (the connection's idle timeout; each stream has its own timer)
  void onConnectionIdleTimeout() override;
  void onStreamIdleTimeout() override {}

  // The connection is gone (closed by the client, or failed): every open stream is abandoned.
  void connectionLost();
  void countProtocolError();

  ConnectionContext& context_;
  network::StreamSocket& socket_;
  http2::ServerSession session_;
  IdleTimers idleTimer_;
  std::map<int32_t, std::unique_ptr<Http2ServerStream>> streams_;
  uint32_t requestCount_ = 0;
  bool goAwayPending_ = false; // a new stream was the last: GOAWAY after the session's call
  bool closing_ = false;
  bool shutdownRequested_ = false; // we sent (or asked for) a graceful GOAWAY
  bool protocolErrorCounted_ = false;
  // Posted callbacks hold it weakly: they do nothing once the connection is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace meshd::proxy::http
