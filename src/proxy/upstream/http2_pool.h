// Http2Pool: one worker's HTTP/2 upstream connections, per cluster name and endpoint, as part of
// HttpPool. A request gets a stream on a connection with room (the server's and the cluster's
// max_concurrent_streams, max_requests_per_connection); when every connection is full it waits
// for one being established or opens another (Envoy's pool), within the cluster's circuit
// breakers: max_connections counts connections, max_pending_requests the requests waiting for
// room (over it: overflow), max_requests (in UpstreamRequest) the streams. As in the HTTP/1 pool
// an endpoint with no connection may open one over max_connections, so its waiters never hang
// on connections other workers hold.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/event_loop.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/http2_connection.h"
#include "proxy/upstream/http_exchange.h"
#include "proxy/upstream/resource_manager.h"

namespace meshd::proxy::upstream {

class Http2Pool {
public:
  using Ready = std::function<void(std::shared_ptr<HttpExchange>, AcquireFailure)>;

  explicit Http2Pool(core::EventLoop& loop);
  ~Http2Pool();
  Http2Pool(const Http2Pool&) = delete;
  Http2Pool& operator=(const Http2Pool&) = delete;

  // Calls `ready(stream, kNone)` with a stream reserved on a connection, or `ready(nullptr, why)`.
  // Calls back before returning when a connection has room or the breakers are full; otherwise
  // the request waits under `waiter_id` (returned; 0 when it did not wait).
  uint64_t acquire(const std::shared_ptr<const Cluster>& cluster, const config::Endpoint& endpoint,
                   Ready ready, uint64_t waiter_id);
  // The request waiting as `waiter_id` went away; false when no such waiter is here.
  bool cancel(uint64_t waiter_id);
  // The cluster went away: its connections take no new streams and close when theirs end.
  void closeCluster(const std::string& cluster);
  // Closes every connection (shutdown).
  void closeAll();
  size_t connectionCount() const;

private:
  using Key = std::pair<std::string, config::Endpoint>; // cluster name, endpoint
  struct Waiter {
    uint64_t id;
    std::shared_ptr<const Cluster> cluster;
    Ready ready;
    ResourceManager::Slot pendingSlot; // empty: it opened a connection and waits for it
  };
  struct EndpointPool {
    std::vector<std::shared_ptr<Http2Connection>> connections; // oldest first
    std::deque<Waiter> waiters;                                // oldest first
    ResourceManager::Slot poolSlot;                            // max_connection_pools
  };

  void open(const Key& key, const std::shared_ptr<const Cluster>& cluster,
            ResourceManager::Slot slot);
  // A connection of `key` changed (connected, failed, room freed, closed): hand out streams.
  void serve(const Key& key);
  // A connection of `key` could not be made: with no other connection, its waiters fail.
  void connectFailed(const Key& key);
  static std::shared_ptr<Http2Connection> withRoom(const EndpointPool& pool);
  // Streams the connections still being established (or waiting for the server's SETTINGS) are
  // expected to take beyond the waiters already queued.
  static bool connectingRoom(const EndpointPool& pool);
  void dropWaiter(Waiter& waiter);
  void releaseIfUnused(const Key& key);

  core::EventLoop& loop_;
  std::map<Key, EndpointPool> pools_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace meshd::proxy::upstream
