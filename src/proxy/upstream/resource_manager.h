// Envoy's circuit breakers for one cluster (default priority): how many upstream connections,
// pending requests (waiting for a connection), active requests and active retries it may have.
// With a retry budget, the retry limit follows the requests in flight (retry_budget.h) instead of
// max_retries.
// Shared by every worker (atomic counts) and carried across config updates of the cluster, so a
// rebuilt cluster keeps counting what its previous version had open. Holders keep a Slot, which
// gives its unit back when it goes.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/stats/store.h"
#include "proxy/config/cluster_config.h"

namespace meshd::proxy::upstream {

using config::CircuitBreakerThresholds;

class ResourceManager : public std::enable_shared_from_this<ResourceManager> {
public:
  enum class Kind { kConnections, kPending, kRequests, kRetries, kConnectionPools };

  // One unit of a resource, given back on destruction. Empty when default-constructed.
  class Slot {
  public:
    Slot() = default;
    Slot(std::shared_ptr<ResourceManager> owner, Kind kind)
        : owner_(std::move(owner)), kind_(kind) {}
    Slot(Slot&& other) noexcept = default;
    Slot& operator=(Slot&& other) noexcept;
    ~Slot() { reset(); }
    void reset();
    explicit operator bool() const { return owner_ != nullptr; }

  private:
    std::shared_ptr<ResourceManager> owner_;
    Kind kind_ = Kind::kConnections;
  };

  static std::shared_ptr<ResourceManager> create(stats::Store& store, const std::string& cluster,
                                                 const CircuitBreakerThresholds& thresholds);

  // New limits from a config update; what is open stays counted.
  void setThresholds(const CircuitBreakerThresholds& thresholds);
  // A unit when the count is below the limit; an empty slot at the limit (the circuit is open).
  Slot tryAcquire(Kind kind);
  // A unit even at the limit (Envoy lets a connection pool with no connection open one, so that
  // its pending requests are not stranded by connections other workers hold).
  Slot acquireOverLimit(Kind kind);
  uint64_t count(Kind kind) const { return resource(kind).count.load(std::memory_order_relaxed); }
  // The limit now: for retries under a budget it moves with the requests in flight.
  uint64_t limit(Kind kind) const;

private:
  struct Resource {
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> max{0};
    stats::SetGauge open;      // 1 while at the limit
    stats::SetGauge remaining; // limit - count, when tracked
  };
  ResourceManager() = default;
  Resource& resource(Kind kind) { return resources_[static_cast<size_t>(kind)]; }
  const Resource& resource(Kind kind) const { return resources_[static_cast<size_t>(kind)]; }
  void publish(Resource& r, uint64_t count) const;
  void release(Kind kind);

  std::array<Resource, 5> resources_;
  std::atomic<bool> trackRemaining_{false};
  // retry_budget, when configured (set by setThresholds on the main thread, read by workers).
  std::atomic<bool> useRetryBudget_{false};
  std::atomic<double> budgetPercent_{0};
  std::atomic<uint32_t> minRetryConcurrency_{0};
};

} // namespace meshd::proxy::upstream
