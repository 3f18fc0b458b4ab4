// What each worker of a ProxyServer owns: its load balancers, upstream pool, acceptors and the
// connections it tracks for listener drains. Touched only on that worker's thread.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/random.h"
#include "proxy/network/connection_tracker.h"
#include "proxy/network/listener.h"
#include "proxy/router/shadow_request.h"
#include "proxy/server/proxy_server.h"
#include "proxy/upstream/http_pool.h"
#include "proxy/upstream/load_balancer.h"

namespace meshd::proxy::server {

struct ProxyServer::WorkerState {
  explicit WorkerState(core::EventLoop& loop)
      : balancers(random), pool(loop), shadows(loop, pool, balancers, random) {}
  core::DefaultRandomGenerator random;
  upstream::WorkerLoadBalancers balancers;
  upstream::HttpPool pool;
  router::ShadowRequests shadows; // before the pool goes: they hold its connections
  std::map<std::string, std::unique_ptr<network::WorkerAcceptor>> acceptors; // by listener
  network::ConnectionTracker connections;
};

} // namespace meshd::proxy::server
