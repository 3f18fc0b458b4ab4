// Envoy's retry budget arithmetic (circuit_breakers.thresholds[].retry_budget): how many retries a
// cluster may have under way at once, given how many requests it has in flight.
#pragma once

#include <algorithm>
#include <cstdint>

#include "proxy/config/cluster_config.h"

namespace meshd::proxy::upstream {

// max(budget_percent% of the requests in flight, min_retry_concurrency); the share is truncated to
// a whole retry, as Envoy converts it. `in_flight`: Envoy adds active and pending requests;
// mesh-proxy's request count already holds both (a request keeps its max_requests unit while it
// waits for a connection), so callers pass that count alone.
inline uint64_t retryBudgetLimit(const config::RetryBudgetConfig& budget, uint64_t in_flight) {
  const auto share =
      static_cast<uint64_t>(budget.budgetPercent / 100.0 * static_cast<double>(in_flight));
  return std::max<uint64_t>(share, budget.minRetryConcurrency);
}

} // namespace meshd::proxy::upstream
