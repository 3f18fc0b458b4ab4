// StreamHandler: what the owner of one HTTP/2 stream (an upstream request, a downstream request
// being served) receives from the Session. Callbacks run inside Session calls; a handler may call
// back into the Session (send, reset, consume), but must not destroy the Session.
#pragma once

#include <cstdint>
#include <string_view>

#include "proxy/http/header_map.h"

namespace meshd::proxy::http::http2 {

// How a stream ended, as reported to StreamHandler::onClose.
struct StreamClose {
  // The HTTP/2 error code (RFC 9113 §7): NGHTTP2_NO_ERROR for a clean end of both sides,
  // NGHTTP2_REFUSED_STREAM when the peer refused it (or it was above a GOAWAY's last stream id:
  // it was not processed and may be retried), NGHTTP2_PROTOCOL_ERROR for a malformed message...
  uint32_t errorCode = 0;
  // The peer sent RST_STREAM (otherwise we or nghttp2 reset it, or it ended cleanly).
  bool resetByPeer = false;
  // The connection ended (closed, failed, or Session::closeAllStreams) while the stream was open.
  bool connectionLost = false;
};

class StreamHandler {
public:
  virtual ~StreamHandler() = default;
  // The peer's message head: a request (:method, :path, :authority, :scheme) on a server, the
  // final response (:status; 1xx interim responses are not reported) on a client.
  // `end_stream`: no body or trailers follow.
  virtual void onHead(HeaderMap&& headers, bool end_stream) = 0;
  // Body bytes. The bytes count against the flow-control windows until the owner calls
  // Session::consume for them (once it passed them on), which is what makes a slow reader slow
  // the peer down. `end_stream` comes with empty data at the end of a body without trailers.
  virtual void onData(std::string_view data, bool end_stream) = 0;
  // Trailers; they end the peer's side of the stream.
  virtual void onTrailers(HeaderMap&& trailers) = 0;
  // The stream is gone; no more callbacks. Not called after the owner's own resetStream.
  virtual void onClose(const StreamClose& close) = 0;
  // Everything queued with sendData (and the end of stream, trailers) went to the connection:
  // the owner may read more of the body it relays. Called after the queue emptied.
  virtual void onSendDrained() {}
};

} // namespace meshd::proxy::http::http2
