// HttpClient (http_client.h).
#include "proxy/upstream/http_client.h"

#include "core/logging.h"
#include "proxy/http/http1/serializer.h"
#include "proxy/upstream/upstream_connect.h"

namespace meshd::proxy::upstream {

HttpClient::HttpClient(core::EventLoop& loop, std::shared_ptr<const Cluster> cluster,
                       config::Endpoint endpoint)
    : loop_(loop), cluster_(std::move(cluster)), endpoint_(endpoint),
      parser_(http::http1::MessageParser::Kind::kResponse, *this) {}

HttpClient::~HttpClient() {
  if (socket_) {
    socket_->close();
  }
  if (connected_) {
    cluster_->stats().cxActive.dec();
  }
  connectionSlot_.reset();
  if (onDestroyed_) {
    onDestroyed_();
  }
}

void HttpClient::connect(std::function<void(bool)> done) {
  cluster_->stats().cxHttp1Total.inc();
  connectUpstream(loop_, cluster_, endpoint_, connectTimer_,
                  [self = shared_from_this(), done = std::move(done)](ConnectedSocket raw) {
                    self->connectTimer_->disable();
                    if (!raw) {
                      done(false);
                      return;
                    }
                    self->connected_ = true;
                    self->cluster_->stats().cxActive.inc();
                    self->socket_ =
                        std::make_shared<network::StreamSocket>(std::move(*raw), self.get());
                    self->socket_->start();
                    std::weak_ptr<HttpClient> timed = self;
                    self->durationTimer_ =
                        connectionDurationTimer(self->loop_, *self->cluster_, [timed] {
                          if (auto client = timed.lock()) {
                            client->expire();
                          }
                        });
                    done(true);
                  });
}

void HttpClient::sendHead(const http::HeaderMap& headers, bool end_stream, bool body_chunked,
                          ResponseHandler* handler) {
  handler_ = handler;
  ++requests_;
  reusable_ = false;
  responseComplete_ = false;
  chunked_ = body_chunked && !end_stream;
  parser_.expectNoBody(headers.method() == "HEAD");
  core::Buffer out;
  http::http1::encodeRequestHead(headers, chunked_, out);
  socket_->write(out);
}

void HttpClient::shutdownWrite() {
  if (socket_) {
    boost::system::error_code ignored;
    socket_->socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
  }
}

void HttpClient::sendBody(std::string_view data, bool end_stream) {
  core::Buffer out;
  if (chunked_ && !tunnel_) {
    http::http1::encodeChunk(data, out);
    if (end_stream) {
      http::http1::encodeLastChunk(out);
    }
  } else {
    out.add(data);
  }
  if (!out.empty()) {
    socket_->write(out);
  }
}

void HttpClient::pauseReading() {
  if (socket_) {
    socket_->pauseReading();
  }
}

void HttpClient::resumeReading() {
  if (socket_) {
    socket_->resumeReading();
  }
}

void HttpClient::abort() {
  handler_ = nullptr;
  reusable_ = false;
  close();
}

void HttpClient::expire() {
  expired_ = true;
  if (handler_ == nullptr && !closed()) {
    // Idle in the pool: close, and let the pool forget it as if the server had closed it.
    close();
    if (onIdleClose_) {
      onIdleClose_();
    }
  }
}

void HttpClient::close() {
  if (socket_) {
    socket_->close();
  }
}

void HttpClient::onReadable(core::Buffer& input, bool eof) {
  if (handler_ == nullptr) {
    // Idle in the pool: the server closed (or sent garbage). Either way it is done.
    close();
    if (onIdleClose_) {
      onIdleClose_();
    }
    return;
  }
  if (tunnel_) {
    if (!input.empty()) {
      const std::string data = input.toString();
      input.clear();
      handler_->onResponseBody(data);
    }
    if (eof && handler_ != nullptr) {
      std::exchange(handler_, nullptr)->onResponseComplete();
    }
    return;
  }
  using Result = http::http1::MessageParser::Result;
  Result result = parser_.parse(input);
  if (result == Result::kNeedMore && eof) {
    result = parser_.finish();
  }
  switch (result) {
  case Result::kMessageDone:
    if (!input.empty()) {
      // Bytes after a complete response: the connection is out of sync, never reuse it.
      reusable_ = false;
      close();
    }
    return;
  case Result::kUpgrade:
    // 101 Switching Protocols: from here on the connection is a byte tunnel, never reused.
    tunnel_ = true;
    reusable_ = false;
    onReadable(input, eof);
    return;
  case Result::kError: fail(parser_.inMessage()); return;
  case Result::kNeedMore:
    if (eof) {
      fail(false);
    }
    return;
  }
}

void HttpClient::onWriteDrained() {
  if (handler_ != nullptr) {
    handler_->onRequestDrained();
  }
}

void HttpClient::onSocketError() {
  if (handler_ != nullptr) {
    fail(false);
  } else if (onIdleClose_) {
    onIdleClose_();
  }
}

void HttpClient::onHead(http::HeaderMap&& headers, bool end_stream) {
  if (handler_ != nullptr) {
    handler_->onResponseHead(std::move(headers), end_stream);
  }
}

void HttpClient::onBody(std::string_view data) {
  if (handler_ != nullptr) {
    handler_->onResponseBody(data);
  }
}

void HttpClient::onComplete() {
  responseComplete_ = true;
  reusable_ = parser_.keepAlive();
  ResponseHandler* handler = std::exchange(handler_, nullptr);
  if (handler != nullptr) {
    handler->onResponseComplete();
  }
}

void HttpClient::fail(bool protocol_error) {
  reusable_ = false;
  close();
  ResponseHandler* handler = std::exchange(handler_, nullptr);
  if (handler != nullptr) {
    handler->onResponseError(protocol_error);
  }
}

} // namespace meshd::proxy::upstream
