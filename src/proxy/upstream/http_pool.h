// HttpPool: one worker's upstream connections, per cluster name and endpoint. HTTP/2 requests go
// to Http2Pool (http2_pool.h: streams multiplexed on few connections); the rest of this comment
// is about HTTP/1.1 connections. A request takes an
// idle connection when there is one (keep-alive reuse, most recently used first) or opens a new
// one; a connection that finished its exchange cleanly comes back. Idle connections closed by the
// server are dropped, and ones idle longer than their cluster's idle_timeout are closed.
// The cluster's circuit breakers bound it (Envoy's semantics): at max_connections a request waits
// for a connection of its endpoint to come back or close (a pending request), at
// max_pending_requests it fails with overflow. A pool with no connection to an endpoint may open
// one over the limit, so its waiters are never stranded by connections other workers hold.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/event_loop.h"
#include "core/time_source.h"
#include "proxy/upstream/http2_pool.h"
#include "proxy/upstream/http_client.h"
#include "proxy/upstream/http_exchange.h"

namespace meshd::proxy::upstream {

class HttpPool {
public:
  explicit HttpPool(core::EventLoop& loop,
                    const core::TimeSource& time = core::RealTimeSource::instance());
  ~HttpPool();

  // Why acquire() gave no exchange (http_exchange.h).
  using Failure = AcquireFailure;
  using Ready = std::function<void(std::shared_ptr<HttpExchange>, Failure)>;
  enum class Protocol { kHttp1, kHttp2 };
  // Calls `ready(exchange, kNone)` with a connected HTTP/1.1 client or an HTTP/2 stream, or
  // `ready(nullptr, why)`. May call back before returning (an idle connection or a stream was
  // available, or the breakers are full). Returns the id of the request when it has to wait (for
  // cancel()), else 0.
  uint64_t acquire(const std::shared_ptr<const Cluster>& cluster, const config::Endpoint& endpoint,
                   Ready ready, Protocol protocol = Protocol::kHttp1);
  // The request waiting as `pending_id` went away: it leaves the queue.
  void cancel(uint64_t pending_id);
  // Returns an exchange that ended cleanly: an HTTP/1.1 client is kept only if reusable; an
  // HTTP/2 stream just ends (its connection stays in the pool).
  void release(std::shared_ptr<HttpExchange> exchange);
  size_t http2ConnectionCount() const { return http2_.connectionCount(); }

  size_t idleCount() const;
  // Closes the idle connections of a cluster that went away; busy ones close when their exchange
  // ends: clients of the cluster's objects older than `watermark` (Cluster::idWatermark() when
  // it was removed) are not taken back. A cluster of that name added later is pooled as usual.
  void closeCluster(const std::string& cluster, uint64_t watermark);
  // Closes every idle connection (shutdown, while the loop still exists); idle expiry stops.
  void closeAll();

private:
  struct IdleClient {
    std::shared_ptr<HttpClient> client;
    core::MonotonicTime expiresAt; // MonotonicTime::max(): never
  };
  using Key = std::pair<std::string, config::Endpoint>; // cluster name, endpoint
  struct Waiter {
    uint64_t id;
    std::shared_ptr<const Cluster> cluster;
    Ready ready;
    ResourceManager::Slot pendingSlot;
  };

  // Opens a connection holding `slot` and hands it to `ready` once connected.
  void open(const std::shared_ptr<const Cluster>& cluster, const config::Endpoint& endpoint,
            ResourceManager::Slot slot, Ready ready);
  // A connection of `key` is gone: a waiter may open one now.
  void connectionClosed(const Key& key);
  // The pool of `key` has no connection and no waiter left: its max_connection_pools slot goes.
  void releasePoolIfUnused(const Key& key);
  // Hands `client` to the first request waiting for its endpoint; false when none waits.
  bool giveToWaiter(std::shared_ptr<HttpClient>& client);
  void forget(IdleClient& idle);
  void armExpiry(core::MonotonicTime at);
  void closeExpired();

  core::EventLoop& loop_;
  const core::TimeSource& time_;
  std::unique_ptr<core::Timer> expiryTimer_;
  core::MonotonicTime armedFor_;
  using IdleList = std::vector<IdleClient>; // oldest first: taken from and returned to the back
  // By cluster name (so a cluster rebuilt with new hosts keeps its connections), then endpoint.
  std::map<std::string, std::map<config::Endpoint, IdleList>, std::less<>> idle_;
  std::map<std::string, uint64_t> retired_;   // removed cluster -> its id watermark
  std::map<Key, uint32_t> open_;              // connections (connecting, busy or idle)
  std::map<Key, std::deque<Waiter>> waiters_; // pending requests, oldest first
  // max_connection_pools: a pool is an endpoint of a cluster on this worker with connections
  // (connecting, busy or idle) or waiters; it holds its cluster's slot until it has neither.
  std::map<Key, ResourceManager::Slot> poolSlots_;
  uint64_t nextWaiterId_ = 1;
  // Connections outlive the pool at shutdown: their destruction hook checks this first.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  Http2Pool http2_;
};

} // namespace meshd::proxy::upstream
