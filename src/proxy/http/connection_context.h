// What every request of one downstream HTTP connection shares, whatever its codec: the worker's
// pools and balancers, the runtime (listener, routes, stats) the connection was accepted under,
// the peer, and the per-connection local rate limit buckets. The connection owns it; its streams
// (ActiveStream) hold a reference and never outlive it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "core/event_loop.h"
#include "core/random.h"
#include "core/snapshot_slot.h"
#include "proxy/filters/http/local_ratelimit/local_ratelimit_config.h"
#include "proxy/router/shadow_request.h"
#include "proxy/server/overload_manager.h"
#include "proxy/server/runtime.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/http_pool.h"

namespace meshd::proxy::http {

// Per-worker state the connection manager uses.
struct WorkerContext {
  core::EventLoop& loop;
  // The runtimes published to this worker: each request takes its clusters from the latest, so a
  // keep-alive connection follows endpoint and cluster changes.
  const core::SnapshotSlot<server::Runtime>& runtimes;
  upstream::WorkerLoadBalancers& balancers;
  upstream::HttpPool& pool;
  core::RandomGenerator& random;
  router::ShadowRequests& shadows;                   // mirrored requests in flight on this worker
  const server::OverloadManager* overload = nullptr; // null: no overload_manager configured
};

struct ConnectionContext {
  ConnectionContext(WorkerContext worker_context, std::shared_ptr<const server::Runtime> rt,
                    const config::ListenerConfig& listener_config,
                    const config::FilterChainConfig& chain);

  // local_rate_limit_per_downstream_connection: this connection's bucket of `limit`, made on
  // first use.
  filters::TokenBucket*
  connectionBucket(const std::shared_ptr<const filters::LocalRateLimitConfig>& limit);
  // The listener changed or went away since this connection was accepted (LDS): it drains.
  // Only a newer runtime can say so (no lookup otherwise).
  bool listenerOutdated() const;

  WorkerContext worker;
  std::shared_ptr<const server::Runtime> runtime;
  const config::ListenerConfig& listener;
  const config::HttpConnectionManagerConfig& config;
  const server::ListenerStats& stats;
  std::string peerAddress;
  config::Endpoint localAddress; // the original destination when the listener recovered it

private:
  // Held by config so that its address is not reused.
  std::map<const filters::LocalRateLimitConfig*,
           std::pair<std::shared_ptr<const filters::LocalRateLimitConfig>,
                     std::unique_ptr<filters::TokenBucket>>>
      buckets_;
};

} // namespace meshd::proxy::http
