// Http2Connection (http2_connection.h).
#include "proxy/upstream/http2_connection.h"

#include <algorithm>

#include "proxy/upstream/upstream_connect.h"

namespace meshd::proxy::upstream {
namespace {

http::http2::SessionSettings clientSettings(const config::ClusterConfig& config) {
  http::http2::SessionSettings settings;
  settings.maxConcurrentStreams = config.http2.maxConcurrentStreams;
  settings.initialStreamWindowSize = config.http2.initialStreamWindowSize;
  settings.initialConnectionWindowSize = config.http2.initialConnectionWindowSize;
  return settings;
}

} // namespace

Http2Connection::Http2Connection(core::EventLoop& loop, std::shared_ptr<const Cluster> cluster,
                                 config::Endpoint endpoint)
    : loop_(loop), cluster_(std::move(cluster)), endpoint_(endpoint),
      session_(*this, clientSettings(cluster_->config())) {}

Http2Connection::~Http2Connection() {
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

void Http2Connection::connect(std::function<void(bool)> done) {
  cluster_->stats().cxHttp2Total.inc();
  connectUpstream(loop_, cluster_, endpoint_, connectTimer_,
                  [self = shared_from_this(), done = std::move(done)](ConnectedSocket raw) {
                    self->connectTimer_->disable();
                    if (!raw || self->closed_) {
                      if (raw) {
                        self->cluster_->stats().cxConnectFail.inc(); // closed while connecting
                      }
                      self->closed_ = true;
                      done(false);
                      self->scheduleCheck();
                      return;
                    }
                    self->connected_ = true;
                    self->cluster_->stats().cxActive.inc();
                    boost::system::error_code ignored;
                    raw->set_option(boost::asio::ip::tcp::no_delay(true), ignored);
                    self->socket_ =
                        std::make_shared<network::StreamSocket>(std::move(*raw), self.get());
                    self->socket_->start();
                    self->session_.start(); // the preface and our SETTINGS go out now
                    // max_connection_duration: drain (no new stream; close once they end).
                    std::weak_ptr<Http2Connection> timed = self;
                    self->durationTimer_ =
                        connectionDurationTimer(self->loop_, *self->cluster_, [timed] {
                          if (auto connection = timed.lock()) {
                            connection->drain();
                          }
                        });
                    done(true);
                    self->scheduleCheck();
                  });
}

uint32_t Http2Connection::streamLimit() const {
  if (!session_.peerSettingsReceived()) {
    return 1;
  }
  return std::min(session_.peerMaxConcurrentStreams(),
                  cluster_->config().http2.maxConcurrentStreams);
}

bool Http2Connection::canTakeStream() const {
  if (!connected_ || draining()) {
    return false;
  }
  if (session_.goingAway() || session_.done()) {
    return false;
  }
  const uint32_t max_requests = cluster_->config().maxRequestsPerConnection;
  return streams() < streamLimit() && (max_requests == 0 || opened_ < max_requests);
}

void Http2Connection::reserve() {
  ++reserved_;
  ++opened_;
  idleTimer_.reset();
  const uint32_t max_requests = cluster_->config().maxRequestsPerConnection;
  if (max_requests != 0 && opened_ >= max_requests) {
    draining_ = true; // the streams it has finish; new ones go to another connection
  }
}

void Http2Connection::unreserve() {
  if (reserved_ > 0) {
    --reserved_;
  }
  scheduleCheck();
}

absl::StatusOr<int32_t> Http2Connection::openStream(const http::HeaderMap& headers, bool end_stream,
                                                    http::http2::StreamHandler& handler) {
  if (reserved_ > 0) {
    --reserved_;
  }
  if (closed_ || session_.goingAway()) {
    scheduleCheck();
    return absl::UnavailableError("the upstream HTTP/2 connection is closing");
  }
  auto id = session_.startRequest(headers, end_stream, handler, "http");
  scheduleCheck();
  return id;
}

void Http2Connection::drain() {
  draining_ = true;
  scheduleCheck();
}

void Http2Connection::close(bool notify_streams) {
  if (closed_) {
    return;
  }
  if (socket_) {
    socket_->close();
  }
  closed(notify_streams);
}

void Http2Connection::onReadable(core::Buffer& input, bool eof) {
  session_.receive(input);
  if (eof && !closed_) {
    // The server closed: whatever is still open ends with the connection.
    closed(true);
  }
  scheduleCheck();
}

void Http2Connection::onSocketError() {
  closed(true);
}

void Http2Connection::onOutput(core::Buffer& data) {
  if (socket_ && socket_->open()) {
    socket_->write(data);
    // The cluster's per_connection_buffer_limit_bytes bounds what waits in the socket: above it
    // the session stops producing frames, and request bodies wait in their streams' queues
    // (which back-pressures the clients).
    const uint32_t limit = cluster_->config().perConnectionBufferLimitBytes;
    if (limit > 0 && socket_->bytesQueued() > limit) {
      session_.pauseOutput(); // resumed by onWriteDrained
    }
  } else {
    data.clear();
  }
}

void Http2Connection::onGoAway(int32_t, uint32_t) {
  draining_ = true; // nghttp2 refuses the streams above the last id itself
  scheduleCheck();
}

void Http2Connection::onSessionDone() {
  // A connection error (GOAWAY sent), or GOAWAY and no stream left: write what is left, close.
  if (socket_) {
    socket_->closeAfterFlush();
  }
  closed(true);
}

void Http2Connection::closed(bool notify_streams) {
  const bool first = !closed_;
  closed_ = true;
  draining_ = true;
  idleTimer_.reset();
  if (notify_streams) {
    session_.closeAllStreams();
  }
  if (first) {
    scheduleCheck();
  }
}

void Http2Connection::scheduleCheck() {
  if (checkScheduled_) {
    return;
  }
  checkScheduled_ = true;
  loop_.post([weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      self->checkScheduled_ = false;
      self->check();
    }
  });
}

void Http2Connection::check() {
  if (!closed_ && connected_ && streams() == 0) {
    if (draining_) {
      // Nothing left to finish: say goodbye (GOAWAY) and close once it is written.
      session_.goAway();
      if (socket_) {
        socket_->closeAfterFlush();
      }
      closed(false);
    } else if (cluster_->config().idleTimeout.count() > 0 && !idleTimer_) {
      idleTimer_ = loop_.createTimer([this] { drain(); });
      idleTimer_->enable(cluster_->config().idleTimeout);
    }
  }
  if (onChange_) {
    auto hook = onChange_; // the pool may drop the connection from inside
    hook();
  }
}

} // namespace meshd::proxy::upstream
