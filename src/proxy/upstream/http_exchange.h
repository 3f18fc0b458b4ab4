// HttpExchange: one request/response exchange on an upstream connection, whatever its protocol:
// the whole HTTP/1.1 connection (HttpClient, one exchange at a time) or one stream of an HTTP/2
// connection (Http2Stream). HttpPool hands out either; the router's UpstreamRequest drives it and
// receives the response through a ResponseHandler.
#pragma once

#include <cstddef>
#include <string_view>

#include "proxy/http/header_map.h"

namespace meshd::proxy::upstream {

// Why an exchange ended without a complete response.
enum class ResetReason {
  kConnectionTermination, // the connection failed or closed under the exchange (UC)
  kRemoteReset,           // the server reset the HTTP/2 stream (UR)
  kRefusedStream,         // REFUSED_STREAM or above a GOAWAY's last stream: not processed (UR)
  kProtocolError,         // a malformed response (UPE, 502)
};

// Receives one response. Exactly one of onResponseComplete / onResponseError (or
// onResponseReset) ends it.
class ResponseHandler {
public:
  virtual ~ResponseHandler() = default;
  virtual void onResponseHead(http::HeaderMap&& headers, bool end_stream) = 0;
  virtual void onResponseBody(std::string_view data) = 0;
  // Trailers (HTTP/2, e.g. gRPC's grpc-status), after the last body bytes and before
  // onResponseComplete. Handlers that have no use for them keep this default.
  virtual void onResponseTrailers(http::HeaderMap&& /*trailers*/) {}
  virtual void onResponseComplete() = 0;
  // The connection failed or was reset, or the response was malformed (502).
  virtual void onResponseError(bool protocol_error) = 0;
  // The same with the reason (HTTP/2 tells a stream reset and a refused stream apart); by
  // default only whether it was a protocol error.
  virtual void onResponseReset(ResetReason reason) {
    onResponseError(reason == ResetReason::kProtocolError);
  }
  // The request's bytes have all been written (back-pressure for request bodies).
  virtual void onRequestDrained() {}
};

// Why HttpPool::acquire gave no exchange.
// kPoolOverflow: the endpoint has no pool on this worker and max_connection_pools is reached.
enum class AcquireFailure { kNone, kConnect, kOverflow, kPoolOverflow };

class HttpExchange {
public:
  virtual ~HttpExchange() = default;

  // Starts the request. `body_chunked` (HTTP/1.1): the body is sent as chunks (its length is
  // unknown). The response goes to `handler`.
  virtual void sendHead(const http::HeaderMap& headers, bool end_stream, bool body_chunked,
                        ResponseHandler* handler) = 0;
  virtual void sendBody(std::string_view data, bool end_stream) = 0;
  // Ends the request with trailers. HTTP/1.1 cannot carry them here: the body just ends.
  virtual void sendTrailers(const http::HeaderMap& /*trailers*/) { sendBody({}, true); }
  // Request bytes not yet taken by the connection (back-pressure on the downstream).
  virtual size_t bytesQueued() const = 0;
  // Stop / resume taking response bytes (the downstream cannot keep up).
  virtual void pauseReading() = 0;
  virtual void resumeReading() = 0;
  // The handler is going away mid-exchange: no more callbacks; the exchange is abandoned (an
  // HTTP/1 connection closes, an HTTP/2 stream is reset).
  virtual void abort() = 0;
  virtual bool http2() const = 0;
};

} // namespace meshd::proxy::upstream
