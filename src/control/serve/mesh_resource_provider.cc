// MeshResourceProvider (mesh_resource_provider.h).
#include "control/serve/mesh_resource_provider.h"

#include <algorithm>
#include <chrono>
#include <string_view>
#include <utility>
#include <vector>

#include "control/xds/resource_snapshot.h"
#include "control/xds/type_urls.h"
#include "core/logging.h"
#include "core/status.h"
#include "fmt/format.h"

namespace meshd::control::serve {
namespace {

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("meshd");
  return instance;
}

template <class Message>
void addAll(xds::ResourceSnapshotBuilder& builder, const std::vector<Message>& messages) {
  for (const Message& message : messages) {
    if (const absl::Status status = builder.add(message); !status.ok()) {
      MESHD_LOG(logger(), warn, "translation produced a {} without a name: {}",
                message.GetTypeName(), status.message());
    }
  }
}

// A translation waiting for an update over this many endpoint-only snapshots is dropped: its
// proxy is likely gone (connected proxies are pushed, and so translated, after each), and the
// changes it would accumulate are unbounded otherwise.
constexpr uint32_t kMaxPendingSnapshots = 8;

stats::Counter counterOrNone(stats::Store* stats, std::string_view name, const stats::Tags& tags,
                             std::string_view help) {
  return stats == nullptr ? stats::Counter() : stats->counter(name, tags, help);
}

void count(const stats::Counter& counter, uint64_t amount = 1) {
  if (counter && amount > 0) {
    counter.inc(amount);
  }
}

// The hostnames among `hostnames` that `visible` holds.
std::vector<std::string_view> seenChanges(const std::unordered_set<std::string>& hostnames,
                                          const std::unordered_set<std::string>& visible) {
  std::vector<std::string_view> out;
  for (const std::string& hostname : hostnames) {
    if (visible.contains(hostname)) {
      out.push_back(hostname);
    }
  }
  return out;
}

// Whether an outbound cluster name ("outbound|port|subset|host") is for one of `hostnames`.
bool clusterOfAny(std::string_view name, const std::vector<std::string_view>& hostnames) {
  const size_t bar = name.rfind('|');
  if (bar == std::string_view::npos || !name.starts_with("outbound|")) {
    return false;
  }
  const std::string_view host = name.substr(bar + 1);
  return std::find(hostnames.begin(), hostnames.end(), host) != hostnames.end();
}

} // namespace

std::string proxyCacheKey(const translate::ProxyContext& proxy) {
  std::string key =
      fmt::format("{}|{}|{}|{}|{}|{}|", static_cast<int>(proxy.type), proxy.ns, proxy.workloadName,
                  proxy.podName, proxy.serviceAccount, proxy.explicitProxyPort);
  for (const auto& [name, value] : proxy.labels) {
    key += fmt::format("{}={};", name, value);
  }
  key += '|';
  for (const std::string& ip : proxy.ips) {
    key += ip + ";";
  }
  return key;
}

xds::SnapshotPtr toResourceSnapshot(const translate::ProxyResources& resources) {
  xds::ResourceSnapshotBuilder builder;
  addAll(builder, resources.clusters);
  addAll(builder, resources.endpoints);
  addAll(builder, resources.listeners);
  addAll(builder, resources.routes);
  return builder.build();
}

MeshResourceProvider::MeshResourceProvider(stats::Store* stats)
    : fullCounter_(counterOrNone(stats, "meshd_translations_total", {{"kind", "full"}},
                                 "Translations for a proxy identity, by kind: full, or only the "
                                 "endpoints of changed services")),
      endpointsCounter_(counterOrNone(stats, "meshd_translations_total", {{"kind", "endpoints"}},
                                      "Translations for a proxy identity, by kind: full, or only "
                                      "the endpoints of changed services")),
      keptCounter_(counterOrNone(stats, "meshd_translations_kept_total", {},
                                 "Translations an endpoint-only snapshot kept as they were (the "
                                 "proxy sees no changed service)")) {
  std::vector<config::Diagnostic> ignored;
  snapshot_ = model::MeshSnapshot::build({}, {}, model::MeshConfig{}, ignored);
}

SnapshotUpdate MeshResourceProvider::setSnapshot(std::shared_ptr<const model::MeshSnapshot> next) {
  std::lock_guard serialized(setMutex_);
  const std::shared_ptr<const model::MeshSnapshot> previous = snapshot();
  SnapshotUpdate update;
  update.full = previous == nullptr || !next->sharesConfigWith(*previous);
  // Computed before taking the lock: readers keep translating meanwhile.
  const translate::EndpointChange change =
      update.full ? translate::EndpointChange{} : translate::endpointChange(*previous, *next);
  std::lock_guard lock(mutex_);
  snapshot_ = std::move(next);
  if (update.full) {
    cache_.clear(); // entries in flight keep their promise alive; their waiters still get a result
    return update;
  }
  uint64_t kept = 0;
  for (auto it = cache_.begin(); it != cache_.end();) {
    CacheEntry& entry = it->second;
    const bool ready = entry.result.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    const bool upToPrevious = entry.version == previous->version() || entry.pending.has_value();
    if (!ready || !upToPrevious) {
      it = cache_.erase(it); // translated from an older snapshot, or still being translated
      continue;
    }
    if (entry.pending && ++entry.pendingSnapshots > kMaxPendingSnapshots) {
      it = cache_.erase(it); // not asked for in a while (a proxy gone?): translate it afresh
      continue;
    }
    if (entry.pending) {
      entry.pending->merge(change);
    } else if (translate::rebuildNeeded(change, entry.proxy, *entry.result.get().visible) ==
               translate::Rebuild::kNone) {
      entry.version = snapshot_->version();
      update.unchanged.insert(it->first);
      ++kept;
    } else {
      entry.pending = change;
      entry.pendingSnapshots = 1;
    }
    ++it;
  }
  keptTranslations_ += kept;
  count(keptCounter_, kept);
  return update;
}

std::shared_ptr<const model::MeshSnapshot> MeshResourceProvider::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

xds::SnapshotPtr MeshResourceProvider::snapshotFor(const envoy::config::core::v3::Node& node) {
  const translate::ProxyContext proxy = translate::ProxyContext::fromNode(node);
  const std::string key = proxyCacheKey(proxy);
  std::shared_ptr<const model::MeshSnapshot> snapshot;
  std::promise<Translated> promise;
  std::optional<Translated> base;
  std::optional<translate::EndpointChange> change;
  {
    std::unique_lock lock(mutex_);
    snapshot = snapshot_;
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.version == snapshot->version()) {
      ++cacheHits_;
      const std::shared_future<Translated> result = it->second.result;
      lock.unlock();
      return result.get().resources; // waits while another thread translates
    }
    if (it != cache_.end() && it->second.pending) {
      base = it->second.result.get(); // ready: setSnapshot keeps only finished translations
      change = std::move(it->second.pending);
    }
    cache_[key] = CacheEntry{snapshot->version(), promise.get_future().share(), proxy, {}};
  }
  const bool endpointsOnly =
      base && translate::rebuildNeeded(*change, proxy, *base->visible) != translate::Rebuild::kFull;
  Translated out = endpointsOnly ? updateEndpoints(*snapshot, proxy, *base, *change)
                                 : translateFully(*snapshot, proxy);
  {
    std::lock_guard lock(mutex_);
    ++(endpointsOnly ? endpointTranslations_ : fullTranslations_);
  }
  count(endpointsOnly ? endpointsCounter_ : fullCounter_);
  promise.set_value(out);
  return out.resources;
}

MeshResourceProvider::Translated
MeshResourceProvider::translateFully(const model::MeshSnapshot& snapshot,
                                     const translate::ProxyContext& proxy) const {
  Translated out;
  out.resources = toResourceSnapshot(translate::translate(snapshot, proxy));
  out.visible = std::make_shared<const std::unordered_set<std::string>>(
      translate::visibleServices(snapshot, proxy));
  return out;
}

MeshResourceProvider::Translated
MeshResourceProvider::updateEndpoints(const model::MeshSnapshot& snapshot,
                                      const translate::ProxyContext& proxy, const Translated& base,
                                      const translate::EndpointChange& change) const {
  // The base's clusters, listeners and routes stay shared; only the assignments of the EDS
  // clusters of changed services it sees are replaced (the cluster set itself cannot change:
  // rebuildNeeded asked for a full translation where it could).
  const std::vector<std::string_view> changed = seenChanges(change.hostnames, *base.visible);
  xds::ResourceSnapshotBuilder builder(*base.resources);
  if (const xds::ResourceMap* clusters =
          base.resources->resources(std::string(xds::kClusterType))) {
    for (const auto& [name, resource] : *clusters) {
      if (!clusterOfAny(name, changed)) {
        continue;
      }
      envoy::config::cluster::v3::Cluster cluster;
      if (!resource->body.UnpackTo(&cluster) ||
          cluster.type() != envoy::config::cluster::v3::Cluster::EDS) {
        continue;
      }
      if (auto assignment = translate::buildEndpoint(snapshot, proxy, cluster)) {
        if (const absl::Status status = builder.add(*assignment); !status.ok()) {
          MESHD_LOG(logger(), warn, "endpoint update produced an assignment without a name: {}",
                    status.message());
        }
      }
    }
  }
  return Translated{builder.build(), base.visible};
}

translate::ProxyResources
MeshResourceProvider::resourcesFor(const envoy::config::core::v3::Node& node) const {
  return translate::translate(*snapshot(), translate::ProxyContext::fromNode(node));
}

uint64_t MeshResourceProvider::translations() const {
  std::lock_guard lock(mutex_);
  return fullTranslations_ + endpointTranslations_;
}

uint64_t MeshResourceProvider::fullTranslations() const {
  std::lock_guard lock(mutex_);
  return fullTranslations_;
}

uint64_t MeshResourceProvider::endpointTranslations() const {
  std::lock_guard lock(mutex_);
  return endpointTranslations_;
}

uint64_t MeshResourceProvider::keptTranslations() const {
  std::lock_guard lock(mutex_);
  return keptTranslations_;
}

uint64_t MeshResourceProvider::cacheHits() const {
  std::lock_guard lock(mutex_);
  return cacheHits_;
}

} // namespace meshd::control::serve
