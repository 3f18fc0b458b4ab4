// ServerConnection: the codec side of a downstream HTTP connection (HTTP/1.1 or HTTP/2), which
// the connection manager feeds the socket's events to once it knows the protocol.
#pragma once

#include "core/buffer.h"

namespace meshd::proxy::http {

class ServerConnection {
public:
  virtual ~ServerConnection() = default;
  // The connection is open: its idle timeout runs.
  virtual void start() = 0;
  virtual void onReadable(core::Buffer& input, bool eof) = 0;
  virtual void onWriteDrained() = 0;
  virtual void onSocketError() = 0;
  // A draining listener's time is up: an idle connection closes now; one with requests in flight
  // closes after their responses (HTTP/2: GOAWAY first).
  virtual void endDrain() = 0;
};

} // namespace meshd::proxy::http
