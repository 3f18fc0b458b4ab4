// ResourceManager (resource_manager.h).
#include "proxy/upstream/resource_manager.h"

#include "fmt/format.h"

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
  constexpr std::array<std::pair<const char*, const char*>, 4> kNames = {{
      {"cx_open", "remaining_cx"},
      {"rq_pending_open", "remaining_pending"},
      {"rq_open", "remaining_rq"},
      {"rq_retry_open", "remaining_retries"},
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
  const uint32_t limits[] = {thresholds.maxConnections, thresholds.maxPendingRequests,
                             thresholds.maxRequests, thresholds.maxRetries};
  for (size_t i = 0; i < resources_.size(); ++i) {
    resources_[i].max = limits[i];
    publish(resources_[i], resources_[i].count.load());
  }
}

ResourceManager::Slot ResourceManager::tryAcquire(Kind kind) {
  Resource& r = resource(kind);
  uint64_t count = r.count.load(std::memory_order_relaxed);
  do {
    if (count >= r.max.load(std::memory_order_relaxed)) {
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
  const uint64_t max = r.max.load(std::memory_order_relaxed);
  r.open.set(count >= max ? 1 : 0);
  if (trackRemaining_.load(std::memory_order_relaxed)) {
    r.remaining.set(static_cast<int64_t>(count >= max ? 0 : max - count));
  }
}

} // namespace meshd::proxy::upstream
