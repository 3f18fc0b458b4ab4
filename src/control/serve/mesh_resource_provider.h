// MeshResourceProvider: the ResourceProvider meshd's xDS server reads (DESIGN.md §1 "serve").
// It holds the current MeshSnapshot and translates it for a proxy when the server asks, caching
// the result per (snapshot version, proxy identity) so identical proxies share one translation
// and a push translates each proxy identity at most once. Thread-safe: the snapshot pointer is
// swapped under a mutex; translation runs outside the lock, and concurrent requests for the same
// key wait for the one translation in flight.
#pragma once

#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "control/model/mesh_snapshot.h"
#include "control/translate/proxy_context.h"
#include "control/translate/translator.h"
#include "control/xds/resource_provider.h"

namespace meshd::control::serve {

// Everything in a ProxyContext that translation reads (the node id itself is left out, so
// replicas with the same identity share a cache entry).
std::string proxyCacheKey(const translate::ProxyContext& proxy);

// The resources of a translation as one xDS snapshot (a resource without a name is skipped).
xds::SnapshotPtr toResourceSnapshot(const translate::ProxyResources& resources);

class MeshResourceProvider final : public xds::ResourceProvider {
public:
  // Starts with an empty mesh (every proxy gets what an empty config translates to).
  MeshResourceProvider();

  // Publishes a new snapshot; later snapshotFor() calls translate it. Cached translations of
  // older snapshots are dropped.
  void setSnapshot(std::shared_ptr<const model::MeshSnapshot> snapshot);
  std::shared_ptr<const model::MeshSnapshot> snapshot() const;

  xds::SnapshotPtr snapshotFor(const envoy::config::core::v3::Node& node) override;
  // The translation for `node` of the current snapshot, uncached (debug endpoints).
  translate::ProxyResources resourcesFor(const envoy::config::core::v3::Node& node) const;

  uint64_t translations() const; // translations run (cache misses)
  uint64_t cacheHits() const;

private:
  struct CacheEntry {
    uint64_t version = 0;
    std::shared_future<xds::SnapshotPtr> result;
  };

  mutable std::mutex mutex_;
  std::shared_ptr<const model::MeshSnapshot> snapshot_;
  std::unordered_map<std::string, CacheEntry> cache_; // by proxyCacheKey, current version only
  uint64_t translations_ = 0;
  uint64_t cacheHits_ = 0;
};

} // namespace meshd::control::serve
