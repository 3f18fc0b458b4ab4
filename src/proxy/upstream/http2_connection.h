// Http2Connection: the endpoint layer of the upstream side for HTTP/2 (h2c with prior knowledge):
// one connection to one endpoint carrying many streams (Http2Stream) at once through an
// http2::ClientSession. It knows how many more streams it may take (the server's
// SETTINGS_MAX_CONCURRENT_STREAMS, the cluster's max_concurrent_streams, its
// max_requests_per_connection), drains after a GOAWAY or when that many streams were opened, and
// closes itself when idle for the cluster's idle_timeout. Http2Pool owns the connections and is
// told (onChange) whenever any of that may have changed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "core/event_loop.h"
#include "proxy/http/http2/client_session.h"
#include "proxy/network/stream_socket.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/resource_manager.h"

namespace meshd::proxy::upstream {

class Http2Connection : public network::StreamSocket::Handler,
                        public http::http2::SessionCallbacks,
                        public std::enable_shared_from_this<Http2Connection> {
public:
  Http2Connection(core::EventLoop& loop, std::shared_ptr<const Cluster> cluster,
                  config::Endpoint endpoint);
  ~Http2Connection() override;

  // Connects and sends the preface; `done(ok)` runs on the loop.
  void connect(std::function<void(bool ok)> done);
  // Called (on the loop's next turn, once per burst) when the connection may take more or fewer
  // streams than before, or closed.
  void setChangeHook(std::function<void()> on_change) { onChange_ = std::move(on_change); }
  // The max_connections unit this connection holds, and who to tell when it is gone.
  void holdConnectionSlot(ResourceManager::Slot slot, std::function<void()> on_destroyed) {
    connectionSlot_ = std::move(slot);
    onDestroyed_ = std::move(on_destroyed);
  }

  // A stream may be handed out now (reserve() it right away).
  bool canTakeStream() const;
  // Counts a stream handed out but not opened yet against the limits.
  void reserve();
  void unreserve();
  // Opens a reserved stream.
  absl::StatusOr<int32_t> openStream(const http::HeaderMap& headers, bool end_stream,
                                     http::http2::StreamHandler& handler);
  http::http2::ClientSession& session() { return session_; }
  // Something was done on the session outside a socket callback: re-check the state.
  void sessionActivity() { scheduleCheck(); }

  bool connecting() const { return !connected_ && !closed_; }
  // Connecting, or connected and waiting for the server's SETTINGS (its stream limit).
  bool awaitingSettings() const {
    return !closed_ && !draining_ && (!connected_ || !session_.peerSettingsReceived());
  }
  bool closed() const { return closed_; }
  // No new streams: GOAWAY received, max_requests_per_connection reached, or being closed.
  bool draining() const { return draining_ || closed_; }
  // Takes no new streams and closes once its streams ended (cluster removed, shutdown).
  void drain();
  // Closes at once; open streams end with a connection loss (`notify_streams`), or silently at
  // shutdown, when their owners may be gone already.
  void close(bool notify_streams = true);
  size_t streams() const { return session_.activeStreams() + reserved_; }
  // Streams it may carry at once: min(server's limit, cluster's max_concurrent_streams); one
  // until the server's SETTINGS arrived, so that a server with a lower limit than the 100 a
  // client may assume does not refuse the first burst.
  uint32_t streamLimit() const;
  const config::Endpoint& endpoint() const { return endpoint_; }
  const Cluster& cluster() const { return *cluster_; }
  core::EventLoop& loop() { return loop_; }

private:
  // StreamSocket::Handler
  void onReadable(core::Buffer& input, bool eof) override;
  void onWriteDrained() override { session_.resumeOutput(); }
  void onSocketError() override;
  // SessionCallbacks
  void onOutput(core::Buffer& data) override;
  void onGoAway(int32_t last_stream_id, uint32_t error_code) override;
  void onPeerSettings() override { scheduleCheck(); }
  void onSessionDone() override;

  void scheduleCheck();
  // Idle timer, drain completion, the pool's hook.
  void check();
  // The socket is gone: streams end, the pool forgets the connection.
  void closed(bool notify_streams);

  core::EventLoop& loop_;
  std::shared_ptr<const Cluster> cluster_;
  config::Endpoint endpoint_;
  http::http2::ClientSession session_;
  std::shared_ptr<network::StreamSocket> socket_;
  std::unique_ptr<core::Timer> connectTimer_;
  std::unique_ptr<core::Timer> idleTimer_;
  std::unique_ptr<core::Timer> durationTimer_; // max_connection_duration
  std::function<void()> onChange_;
  ResourceManager::Slot connectionSlot_;
  std::function<void()> onDestroyed_;
  uint32_t opened_ = 0;   // streams opened or reserved on this connection, for max_requests
  uint32_t reserved_ = 0; // handed out, not opened yet
  bool connected_ = false;
  bool closed_ = false;
  bool draining_ = false;
  bool checkScheduled_ = false;
};

} // namespace meshd::proxy::upstream
