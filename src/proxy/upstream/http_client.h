// The endpoint layer of the upstream side (DESIGN §3) for HTTP/1.1: one connection to one
// endpoint, carrying one request at a time and parsing its response. Kept alive and reused by
// HttpPool when the exchange ended cleanly.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "boost/asio/ip/tcp.hpp"
#include "core/event_loop.h"
#include "proxy/http/header_map.h"
#include "proxy/http/http1/message_parser.h"
#include "proxy/network/stream_socket.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/http_exchange.h"

namespace meshd::proxy::upstream {

class HttpClient : public HttpExchange,
                   public network::StreamSocket::Handler,
                   public http::http1::MessageParser::Callbacks,
                   public std::enable_shared_from_this<HttpClient> {
public:
  using ResponseHandler = upstream::ResponseHandler;

  HttpClient(core::EventLoop& loop, std::shared_ptr<const Cluster> cluster,
             config::Endpoint endpoint);
  ~HttpClient() override;

  // Connects; `done(ok)` runs on the loop. A connect failure or timeout counts in the cluster.
  void connect(std::function<void(bool ok)> done);

  // Starts a request. `body_chunked`: the body is sent as chunks (its length is unknown).
  void sendHead(const http::HeaderMap& headers, bool end_stream, bool body_chunked,
                ResponseHandler* handler) override;
  void sendBody(std::string_view data, bool end_stream) override;
  size_t bytesQueued() const override { return socket_ ? socket_->bytesQueued() : 0; }
  void pauseReading() override;
  void resumeReading() override;
  bool http2() const override { return false; }

  // Half-closes the upstream (a tunnel whose client finished sending).
  void shutdownWrite();
  // The handler is going away mid-exchange: the connection cannot be reused.
  void abort() override;
  // True when the last exchange completed cleanly, the server allows another and the cluster's
  // max_requests_per_connection is not reached.
  bool reusable() const {
    return reusable_ && !expired_ && socket_ && socket_->open() &&
           (cluster_->config().maxRequestsPerConnection == 0 ||
            requests_ < cluster_->config().maxRequestsPerConnection);
  }
  bool closed() const { return !socket_ || !socket_->open(); }
  const config::Endpoint& endpoint() const { return endpoint_; }
  const Cluster& cluster() const { return *cluster_; }
  void setIdleHook(std::function<void()> on_closed_while_idle) {
    onIdleClose_ = std::move(on_closed_while_idle);
  }
  // The circuit-breaker unit this connection holds, and who to tell when it is gone (the pool,
  // which may have requests waiting for a connection). Both end with the client.
  void holdConnectionSlot(ResourceManager::Slot slot, std::function<void()> on_destroyed) {
    connectionSlot_ = std::move(slot);
    onDestroyed_ = std::move(on_destroyed);
  }
  void close();

private:
  // StreamSocket::Handler
  void onReadable(core::Buffer& input, bool eof) override;
  void onWriteDrained() override;
  void onSocketError() override;
  // MessageParser::Callbacks
  void onHead(http::HeaderMap&& headers, bool end_stream) override;
  void onBody(std::string_view data) override;
  void onComplete() override;

  void fail(bool protocol_error);
  // max_connection_duration: from now on no new request; an idle connection closes now.
  void expire();

  core::EventLoop& loop_;
  std::shared_ptr<const Cluster> cluster_;
  config::Endpoint endpoint_;
  std::shared_ptr<network::StreamSocket> socket_;
  http::http1::MessageParser parser_;
  std::unique_ptr<core::Timer> connectTimer_;
  std::unique_ptr<core::Timer> durationTimer_; // max_connection_duration
  ResponseHandler* handler_ = nullptr;
  std::function<void()> onIdleClose_;
  ResourceManager::Slot connectionSlot_;
  std::function<void()> onDestroyed_;
  bool chunked_ = false;
  bool tunnel_ = false; // after 101 Switching Protocols: raw bytes both ways
  bool reusable_ = false;
  bool responseComplete_ = false;
  bool connected_ = false;
  bool expired_ = false;  // max_connection_duration reached: no new request
  uint32_t requests_ = 0; // sent on this connection
};

} // namespace meshd::proxy::upstream
