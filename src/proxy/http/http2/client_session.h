// ClientSession: the client side of an HTTP/2 connection (h2c with prior knowledge: the preface
// goes out at start()). The upstream layer opens one stream per request; a stream whose
// StreamClose says REFUSED_STREAM was not processed by the server and may be retried.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "proxy/http/http2/session.h"

namespace meshd::proxy::http::http2 {

class ClientSession : public Session {
public:
  explicit ClientSession(SessionCallbacks& callbacks, SessionSettings settings = {});

  // Opens a stream and sends the request head (normalised for HTTP/2: connection-specific fields
  // dropped, Host as :authority, :scheme `scheme` when absent). Without `end_stream` the body
  // follows with sendData/sendTrailers. `handler` gets the response.
  absl::StatusOr<int32_t> startRequest(const HeaderMap& headers, bool end_stream,
                                       StreamHandler& handler, std::string_view scheme = "http");

  // A new stream may be opened now: no GOAWAY, stream ids left, and fewer streams open than the
  // server's SETTINGS_MAX_CONCURRENT_STREAMS.
  bool canOpenStream() const;

protected:
  StreamHandler* acceptStream(int32_t) override { return nullptr; } // push is disabled
};

} // namespace meshd::proxy::http::http2
