// MeshResourceProvider: the ResourceProvider meshd's xDS server reads (DESIGN.md §1 "serve").
// It holds the current MeshSnapshot and translates it for a proxy when the server asks, caching
// the result per (snapshot version, proxy identity) so identical proxies share one translation
// and a push translates each proxy identity at most once. Thread-safe: the snapshot pointer is
// swapped under a mutex; translation runs outside the lock, and concurrent requests for the same
// key wait for the one translation in flight.
//
// Endpoint-only snapshots (withInstances of the current one) keep the cache: a proxy that sees
// no changed service keeps its translation as it is (setSnapshot reports it, so it need not be
// pushed), and one that sees only changed endpoints gets its earlier resources with just the
// ClusterLoadAssignments of those services generated again (translate/endpoint_update.h has the
// rule for when a full translation is needed instead).
#pragma once

#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "control/model/mesh_snapshot.h"
#include "control/translate/endpoint_update.h"
#include "control/translate/proxy_context.h"
#include "control/translate/translator.h"
#include "control/xds/resource_provider.h"
#include "core/stats/store.h"

namespace meshd::control::serve {

// Everything in a ProxyContext that translation reads (the node id itself is left out, so
// replicas with the same identity share a cache entry).
std::string proxyCacheKey(const translate::ProxyContext& proxy);

// The resources of a translation as one xDS snapshot (a resource without a name is skipped).
xds::SnapshotPtr toResourceSnapshot(const translate::ProxyResources& resources);

// What setSnapshot did to the translations made before.
struct SnapshotUpdate {
  // The config changed (or the snapshot is not derived from the previous one): every proxy is
  // translated again.
  bool full = true;
  // Endpoint-only: the proxy identities (proxyCacheKey) that see no changed service and keep
  // their resources as they were; their streams need no push.
  std::unordered_set<std::string> unchanged;
};

class MeshResourceProvider final : public xds::ResourceProvider {
public:
  // Starts with an empty mesh (every proxy gets what an empty config translates to). With
  // `stats`: meshd_translations_total{kind="full"|"endpoints"} and
  // meshd_translations_kept_total.
  explicit MeshResourceProvider(stats::Store* stats = nullptr);

  // Publishes a new snapshot; later snapshotFor() calls translate it. When it only changes the
  // instances of the current one, translations that see no change are kept and the others are
  // updated from theirs on demand; otherwise cached translations are dropped. One caller at a
  // time (the control plane's main loop).
  SnapshotUpdate setSnapshot(std::shared_ptr<const model::MeshSnapshot> snapshot);
  std::shared_ptr<const model::MeshSnapshot> snapshot() const;

  xds::SnapshotPtr snapshotFor(const envoy::config::core::v3::Node& node) override;
  // The translation for `node` of the current snapshot, uncached (debug endpoints).
  translate::ProxyResources resourcesFor(const envoy::config::core::v3::Node& node) const;

  uint64_t translations() const; // translations run (cache misses): full + endpoint-only
  uint64_t fullTranslations() const;
  uint64_t endpointTranslations() const; // only some ClusterLoadAssignments generated
  uint64_t keptTranslations() const;     // carried to a new snapshot unchanged
  uint64_t cacheHits() const;

private:
  struct Translated {
    xds::SnapshotPtr resources;
    // The services the proxy sees (translate::visibleServices); config only, so it holds for
    // every endpoint-only successor of the snapshot it was computed from.
    std::shared_ptr<const std::unordered_set<std::string>> visible;
  };
  struct CacheEntry {
    uint64_t version = 0; // of the snapshot `result` was translated from (or kept for)
    std::shared_future<Translated> result;
    translate::ProxyContext proxy;
    // Set when endpoint-only snapshots since `version` changed something the proxy sees.
    std::optional<translate::EndpointChange> pending;
    uint32_t pendingSnapshots = 0; // how many snapshots `pending` spans
  };

  Translated translateFully(const model::MeshSnapshot& snapshot,
                            const translate::ProxyContext& proxy) const;
  Translated updateEndpoints(const model::MeshSnapshot& snapshot,
                             const translate::ProxyContext& proxy, const Translated& base,
                             const translate::EndpointChange& change) const;

  std::mutex setMutex_; // one setSnapshot at a time
  mutable std::mutex mutex_;
  std::shared_ptr<const model::MeshSnapshot> snapshot_;
  std::unordered_map<std::string, CacheEntry> cache_; // by proxyCacheKey
  uint64_t fullTranslations_ = 0;
  uint64_t endpointTranslations_ = 0;
  uint64_t keptTranslations_ = 0;
  uint64_t cacheHits_ = 0;
  stats::Counter fullCounter_;
  stats::Counter endpointsCounter_;
  stats::Counter keptCounter_;
};

} // namespace meshd::control::serve
