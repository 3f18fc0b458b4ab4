// MeshResourceProvider (mesh_resource_provider.h).
#include "control/serve/mesh_resource_provider.h"

#include <utility>
#include <vector>

#include "control/xds/resource_snapshot.h"
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

MeshResourceProvider::MeshResourceProvider() {
  std::vector<config::Diagnostic> ignored;
  snapshot_ = model::MeshSnapshot::build({}, {}, model::MeshConfig{}, ignored);
}

void MeshResourceProvider::setSnapshot(std::shared_ptr<const model::MeshSnapshot> snapshot) {
  std::lock_guard lock(mutex_);
  snapshot_ = std::move(snapshot);
  cache_.clear(); // entries in flight keep their promise alive; their waiters still get a result
}

std::shared_ptr<const model::MeshSnapshot> MeshResourceProvider::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

xds::SnapshotPtr MeshResourceProvider::snapshotFor(const envoy::config::core::v3::Node& node) {
  const translate::ProxyContext proxy = translate::ProxyContext::fromNode(node);
  const std::string key = proxyCacheKey(proxy);
  std::shared_ptr<const model::MeshSnapshot> snapshot;
  std::promise<xds::SnapshotPtr> promise;
  {
    std::unique_lock lock(mutex_);
    snapshot = snapshot_;
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.version == snapshot->version()) {
      ++cacheHits_;
      const std::shared_future<xds::SnapshotPtr> result = it->second.result;
      lock.unlock();
      return result.get(); // waits while another thread translates
    }
    ++translations_;
    cache_[key] = CacheEntry{snapshot->version(), promise.get_future().share()};
  }
  xds::SnapshotPtr out = toResourceSnapshot(translate::translate(*snapshot, proxy));
  promise.set_value(out);
  return out;
}

translate::ProxyResources
MeshResourceProvider::resourcesFor(const envoy::config::core::v3::Node& node) const {
  return translate::translate(*snapshot(), translate::ProxyContext::fromNode(node));
}

uint64_t MeshResourceProvider::translations() const {
  std::lock_guard lock(mutex_);
  return translations_;
}

uint64_t MeshResourceProvider::cacheHits() const {
  std::lock_guard lock(mutex_);
  return cacheHits_;
}

} // namespace meshd::control::serve
