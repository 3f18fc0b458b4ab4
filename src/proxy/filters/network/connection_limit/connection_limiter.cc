// ConnectionLimiter (connection_limiter.h).
#include "proxy/filters/network/connection_limit/connection_limiter.h"

namespace meshd::proxy::filters {

ConnectionLimiter::ConnectionLimiter(uint64_t max_connections, stats::Store& store,
                                     const std::string& stat_prefix)
    : max_(max_connections),
      activeGauge_(store.gauge("connection_limit.active_connections",
                               {{"envoy_connection_limit_prefix", stat_prefix}},
                               "Connections open on the limited filter chain")),
      limited_(store.counter("connection_limit.limited_connections",
                             {{"envoy_connection_limit_prefix", stat_prefix}},
                             "Connections closed because the limit was reached")) {}

std::shared_ptr<void> ConnectionLimiter::tryAcquire() {
  uint64_t current = active_.load(std::memory_order_relaxed);
  do {
    if (current >= max_) {
      limited_.inc();
      return nullptr;
    }
  } while (!active_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
  activeGauge_.inc();
  // The slot keeps the limiter alive: a config update may drop it while connections still hold
  // slots.
  return std::shared_ptr<void>(this, [self = shared_from_this()](void*) {
    self->active_.fetch_sub(1, std::memory_order_relaxed);
    self->activeGauge_.dec();
  });
}

} // namespace meshd::proxy::filters
