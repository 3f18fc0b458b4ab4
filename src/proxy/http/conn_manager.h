// HttpConnectionManager (Envoy's envoy.filters.network.http_connection_manager) for one downstream
// connection: it owns the socket and what the connection's requests share (ConnectionContext),
// counts the connection, picks the codec (codec_type; AUTO: HTTP/2 when the first bytes are its
// connection preface, i.e. h2c with prior knowledge) and hands the bytes to that codec's
// connection, which parses them into requests (ActiveStream) and frames their responses.
#pragma once

#include <memory>

#include "proxy/http/connection_context.h"
#include "proxy/http/server_connection.h"
#include "proxy/network/connection_info.h"
#include "proxy/network/connection_tracker.h"
#include "proxy/network/stream_socket.h"

namespace meshd::proxy::http {

class HttpConnectionManager : public network::StreamSocket::Handler,
                              public std::enable_shared_from_this<HttpConnectionManager> {
public:
  HttpConnectionManager(WorkerContext context, boost::asio::ip::tcp::socket socket,
                        std::shared_ptr<const server::Runtime> runtime,
                        const config::ListenerConfig& listener,
                        const config::FilterChainConfig& chain,
                        const network::ConnectionInfo& info);
  ~HttpConnectionManager() override;

  void start();
  // Leaves the tracker when this connection ends.
  void track(network::ConnectionTracker::Registration registration) {
    tracking_ = std::move(registration);
  }
  // A draining listener's time is up: an idle connection closes now; one with requests in flight
  // closes after their responses.
  void endDrain();

private:
  // StreamSocket::Handler
  void onReadable(core::Buffer& input, bool eof) override;
  void onWriteDrained() override;
  void onSocketError() override;

  // AUTO: true once the first bytes told the protocol (or when more are needed: false).
  bool pickCodec(const core::Buffer& input, bool eof);
  void useHttp2();

  ConnectionContext context_;
  std::shared_ptr<network::StreamSocket> socket_;
  std::unique_ptr<ServerConnection> codec_;
  bool sniffing_ = false;           // AUTO, and the first bytes have not told the protocol yet
  std::shared_ptr<void> limitSlot_; // connection_limit
  network::ConnectionTracker::Registration tracking_;
};

} // namespace meshd::proxy::http
