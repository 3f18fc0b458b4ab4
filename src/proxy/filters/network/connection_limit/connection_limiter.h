// envoy.filters.network.connection_limit: at most max_connections open connections on a filter
// chain, counted across all workers. A connection over the limit is closed (after `delay`, which
// slows down a client that reconnects in a loop) and counted in limited_connections.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "core/stats/store.h"

namespace meshd::proxy::filters {

class ConnectionLimiter : public std::enable_shared_from_this<ConnectionLimiter> {
public:
  // Stats: connection_limit.<stat_prefix>.{active_connections,limited_connections}.
  ConnectionLimiter(uint64_t max_connections, stats::Store& store, const std::string& stat_prefix);

  // A slot while under the limit, held by the connection and given back when the last copy of it
  // is destroyed (on the connection's worker); null when the limit is reached.
  std::shared_ptr<void> tryAcquire();

  uint64_t active() const { return active_.load(std::memory_order_relaxed); }

private:
  const uint64_t max_;
  std::atomic<uint64_t> active_{0};
  stats::Gauge activeGauge_;
  stats::Counter limited_;
};

} // namespace meshd::proxy::filters
