// ResourceManager (resource_manager.h).
#include "proxy/upstream/resource_manager.h"

#include "fmt/format.h"
#include "proxy/upstream/retry_budget.h"

namespace meshd::proxy::upstream {

ResourceManager::Slot& ResourceManager::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    reset();
    owner_ = std::move(other.owner_);
    kind_ = other.kind_;
  }
  return *this;
}

void ResourceManager::Slot::reset() {
  if (owner_) {
    owner_->release(kind_);
    owner_.reset();
  }
}

std::shared_ptr<ResourceManager>
ResourceManager::create(stats::Store& store, const std::string& cluster,
                        const CircuitBreakerThresholds& thresholds) {
  std::shared_ptr<ResourceManager> manager(new ResourceManager());
  const stats::Tags tags = {{"envoy_cluster_name", cluster}};
  constexpr std::array<std::pair<const char*, const char*>, 5> kNames = {{
      {"cx_open", "remaining_cx"},
      {"rq_pending_open", "remaining_pending"},
      {"rq_open", "remaining_rq"},
      {"rq_retry_open", "remaining_retries"},
      {"cx_pool_open", "remaining_cx_pools"},
  }};
  for (size_t i = 0; i < kNames.size(); ++i) {
    Resource& r = manager->resources_[i];
    r.open = store.setGauge(fmt::format("cluster.circuit_breakers.default.{}", kNames[i].first),
                            tags, "1 while the circuit breaker is at its limit");
    r.remaining =
        store.setGauge(fmt::format("cluster.circuit_breakers.default.{}", kNames[i].second), tags,
                       "what the circuit breaker still allows (with track_remaining)");
  }
  manager->setThresholds(thresholds);
  return manager;
}

void ResourceManager::setThresholds(const CircuitBreakerThresholds& thresholds) {
  trackRemaining_ = thresholds.trackRemaining;
  if (thresholds.retryBudget) {
    budgetPercent_ = thresholds.retryBudget->budgetPercent;
    minRetryConcurrency_ = thresholds.retryBudget->minRetryConcurrency;
  }
  useRetryBudget_ = thresholds.retryBudget.has_value();
  const uint32_t limits[] = {thresholds.maxConnections, thresholds.maxPendingRequests,
                             thresholds.maxRequests, thresholds.maxRetries,
                             thresholds.maxConnectionPools};
  for (size_t i = 0; i < resources_.size(); ++i) {
    resources_[i].max = limits[i];
    publish(resources_[i], resources_[i].count.load());
  }
}

uint64_t ResourceManager::limit(Kind kind) const {
  if (kind == Kind::kRetries && useRetryBudget_.load(std::memory_order_relaxed)) {
    return retryBudgetLimit(
        config::RetryBudgetConfig{budgetPercent_.load(std::memory_order_relaxed),
                                  minRetryConcurrency_.load(std::memory_order_relaxed)},
        count(Kind::kRequests));
  }
  return resource(kind).max.load(std::memory_order_relaxed);
}

ResourceManager::Slot ResourceManager::tryAcquire(Kind kind) {
  Resource& r = resource(kind);
  const uint64_t max = limit(kind);
  uint64_t count = r.count.load(std::memory_order_relaxed);
  do {
    if (count >= max) {
      r.open.set(1);
      return Slot();
    }
  } while (!r.count.compare_exchange_weak(count, count + 1, std::memory_order_relaxed));
  publish(r, count + 1);
  return Slot(shared_from_this(), kind);
}

ResourceManager::Slot ResourceManager::acquireOverLimit(Kind kind) {
  Resource& r = resource(kind);
  publish(r, r.count.fetch_add(1, std::memory_order_relaxed) + 1);
  return Slot(shared_from_this(), kind);
}

void ResourceManager::release(Kind kind) {
  Resource& r = resource(kind);
  publish(r, r.count.fetch_sub(1, std::memory_order_relaxed) - 1);
}

void ResourceManager::publish(Resource& r, uint64_t count) const {
  const Kind kind = static_cast<Kind>(&r - resources_.data());
  const uint64_t max = limit(kind);
  r.open.set(count >= max ? 1 : 0);
  if (trackRemaining_.load(std::memory_order_relaxed)) {
    // Under a retry budget the remaining retries depend on the requests in flight, which change
    // without this gauge hearing of it: as Envoy, it stays 0 rather than go stale.
    const bool budgeted = kind == Kind::kRetries && useRetryBudget_.load(std::memory_order_relaxed);
    r.remaining.set(budgeted || count >= max ? 0 : static_cast<int64_t>(max - count));
  }
}

} // namespace meshd::proxy::upstream
