// Http2Stream (http2_stream.h).
#include "proxy/upstream/http2_stream.h"

#include <utility>

namespace meshd::proxy::upstream {

Http2Stream::Http2Stream(std::shared_ptr<Http2Connection> connection)
    : connection_(std::move(connection)) {
  connection_->reserve();
}

Http2Stream::~Http2Stream() {
  *alive_ = false;
  if (reserved_) {
    connection_->unreserve();
  }
  if (open_) {
    // Gone before the stream ended: reset it so the session never calls a destroyed handler.
    connection_->cluster().stats().rqTxReset.inc();
    connection_->session().resetStream(id_, NGHTTP2_CANCEL);
    connection_->sessionActivity();
  }
}

void Http2Stream::sendHead(const http::HeaderMap& headers, bool end_stream, bool /*body_chunked*/,
                           ResponseHandler* handler) {
  handler_ = handler;
  reserved_ = false;
  ++inCall_;
  auto id = connection_->openStream(headers, end_stream, *this);
  --inCall_;
  if (!id.ok()) {
    // Not from inside the caller's sendHead: it is still setting up the exchange.
    failLater(ResetReason::kConnectionTermination);
    return;
  }
  id_ = *id;
  open_ = !closed_; // the session may have ended it already (then a failure is on its way)
}

void Http2Stream::sendBody(std::string_view data, bool end_stream) {
  if (open_) {
    ++inCall_;
    connection_->session().sendData(id_, data, end_stream);
    --inCall_;
    connection_->sessionActivity();
  }
}

void Http2Stream::sendTrailers(const http::HeaderMap& trailers) {
  if (open_) {
    ++inCall_;
    connection_->session().sendTrailers(id_, trailers);
    --inCall_;
    connection_->sessionActivity();
  }
}

size_t Http2Stream::bytesQueued() const {
  return open_ ? connection_->session().queuedBytes(id_) : 0;
}

void Http2Stream::resumeReading() {
  paused_ = false;
  if (open_ && held_ > 0) {
    connection_->session().consume(id_, held_);
    connection_->sessionActivity();
  }
  held_ = 0;
}

void Http2Stream::abort() {
  handler_ = nullptr;
  if (open_) {
    open_ = false;
    connection_->cluster().stats().rqTxReset.inc();
    connection_->session().resetStream(id_, NGHTTP2_CANCEL);
    connection_->sessionActivity();
  }
}

void Http2Stream::onHead(http::HeaderMap&& headers, bool end_stream) {
  if (handler_ != nullptr) {
    handler_->onResponseHead(std::move(headers), end_stream);
  }
  if (end_stream) {
    complete();
  }
}

void Http2Stream::onData(std::string_view data, bool end_stream) {
  if (!data.empty()) {
    if (handler_ != nullptr) {
      const std::weak_ptr<bool> alive = alive_;
      handler_->onResponseBody(data);
      if (alive.expired()) {
        return;
      }
    }
    if (paused_) {
      held_ += data.size();
    } else if (open_) {
      connection_->session().consume(id_, data.size());
    }
  }
  if (end_stream) {
    complete();
  }
}

void Http2Stream::onTrailers(http::HeaderMap&& trailers) {
  if (handler_ != nullptr) {
    const std::weak_ptr<bool> alive = alive_;
    handler_->onResponseTrailers(std::move(trailers));
    if (alive.expired()) {
      return;
    }
  }
  complete();
}

void Http2Stream::complete() {
  if (ResponseHandler* handler = std::exchange(handler_, nullptr); handler != nullptr) {
    handler->onResponseComplete();
  }
}

void Http2Stream::onClose(const http::http2::StreamClose& close) {
  open_ = false;
  closed_ = true;
  if (held_ > 0) {
    connection_->session().discard(id_);
    held_ = 0;
  }
  ResponseHandler* handler = std::exchange(handler_, nullptr);
  if (handler == nullptr) {
    return; // the response completed (or the exchange was abandoned)
  }
  ResetReason reason = ResetReason::kConnectionTermination;
  if (close.connectionLost) {
    reason = ResetReason::kConnectionTermination;
  } else if (close.errorCode == NGHTTP2_REFUSED_STREAM) {
    reason = ResetReason::kRefusedStream;
  } else if (close.resetByPeer) {
    reason = ResetReason::kRemoteReset;
  } else if (close.errorCode == NGHTTP2_PROTOCOL_ERROR) {
    reason = ResetReason::kProtocolError; // we reset it: the response was malformed
  }
  if (close.resetByPeer) {
    connection_->cluster().stats().rqRxReset.inc();
  }
  if (inCall_ > 0) {
    // The connection failed while the owner was sending: it is not ready for the news yet.
    handler_ = handler;
    failLater(reason);
    return;
  }
  handler->onResponseReset(reason);
}

void Http2Stream::onSendDrained() {
  // Never from inside the caller's sendBody (which flushes the session): the handler may resume
  // reading the downstream right away, and that must not re-enter its parser.
  if (handler_ == nullptr || drainPosted_) {
    return;
  }
  drainPosted_ = true;
  connection_->loop().post([this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) {
      return;
    }
    drainPosted_ = false;
    if (handler_ != nullptr) {
      handler_->onRequestDrained();
    }
  });
}

void Http2Stream::failLater(ResetReason reason) {
  connection_->sessionActivity();
  connection_->loop().post([this, alive = std::weak_ptr<bool>(alive_), reason] {
    if (alive.expired()) {
      return; // the exchange went away meanwhile
    }
    if (ResponseHandler* handler = std::exchange(handler_, nullptr); handler != nullptr) {
      handler->onResponseReset(reason);
    }
  });
}

} // namespace meshd::proxy::upstream
