// ServerSession: the server side of an HTTP/2 connection (the downstream codec). Each request
// stream is announced once its head is complete and valid (malformed ones are reset by the
// session and never reach the owner); the owner returns the StreamHandler that serves it and
// answers with respond(), then sendData/sendTrailers.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "proxy/http/http2/session.h"

namespace meshd::proxy::http::http2 {

class ServerSession : public Session {
public:
  class Callbacks : public SessionCallbacks {
  public:
    // A new request stream: its handler (which then gets onHead with the request), or nullptr to
    // refuse it with REFUSED_STREAM (e.g. overload). Do not respond before returning.
    virtual StreamHandler* onNewStream(int32_t stream_id) = 0;
  };

  explicit ServerSession(Callbacks& callbacks, SessionSettings settings = {});

  // Sends the response head (a 1xx status is sent as an interim response and the stream stays
  // open for the final one). Without `end_stream` the body follows with sendData/sendTrailers.
  absl::Status respond(int32_t stream_id, const HeaderMap& headers, bool end_stream);

  // Drain: GOAWAY with the last stream we accepted; the open streams finish, then the session is
  // done (onSessionDone). Streams the client opened after that are ignored (it retries them).
  void shutdownGracefully() { goAway(NGHTTP2_NO_ERROR); }

protected:
  StreamHandler* acceptStream(int32_t stream_id) override {
    return serverCallbacks_.onNewStream(stream_id);
  }

private:
  Callbacks& serverCallbacks_;
};

} // namespace meshd::proxy::http::http2
