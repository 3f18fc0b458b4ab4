// ResponseEncoder: the one way a request (ActiveStream) talks to the downstream connection that
// carries it, so that HTTP/1 (one exchange at a time) and HTTP/2 (many streams) connections host
// the same per-request logic. The connection frames what the stream hands it; once the stream
// ended its response (end_stream, trailers or a reset), the connection disposes of the stream.
#pragma once

#include <chrono>
#include <string_view>

#include "proxy/http/header_map.h"

namespace meshd::proxy::http {

class ResponseEncoder {
public:
  virtual ~ResponseEncoder() = default;

  // The response head, after the stream's header rules. `end_stream`: no body follows.
  virtual void encodeHead(HeaderMap& headers, bool end_stream) = 0;
  virtual void encodeData(std::string_view data, bool end_stream) = 0;
  // Ends the response with trailers (gRPC's grpc-status); HTTP/1 drops them and ends the body.
  virtual void encodeTrailers(HeaderMap&& trailers) = 0;
  // Too late for a status code: HTTP/1 closes the connection, HTTP/2 resets the stream.
  virtual void resetStream() = 0;
  // The response bytes queued for the client passed the buffer limit: the stream pauses its
  // upstream until ActiveStream::onResponseDrained.
  virtual bool responseBufferFull() const = 0;
  // Request body back-pressure: the upstream has more than the buffer limit queued (pause), or
  // took it all (resume).
  virtual void pauseRequestBody() = 0;
  virtual void resumeRequestBody() = 0;
  // The stream idle timeout: bytes moved for this stream; the route set another timeout.
  virtual void streamActivity() = 0;
  virtual void setStreamIdleTimeout(std::chrono::milliseconds timeout) = 0;
  virtual bool http2() const = 0;
};

} // namespace meshd::proxy::http
