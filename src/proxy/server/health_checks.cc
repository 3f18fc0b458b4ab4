// HealthChecks (health_checks.h).
#include "proxy/server/health_checks.h"

namespace meshd::proxy::server {

void HealthChecks::apply(config::ProxyConfig& config) {
  for (auto it = checkers_.begin(); it != checkers_.end();) {
    const auto cluster = config.clusters.find(it->first);
    const bool keep = cluster != config.clusters.end() && cluster->second.healthCheck &&
                      *cluster->second.healthCheck == it->second->config();
    it = keep ? std::next(it) : checkers_.erase(it);
  }
  for (auto& [name, cluster] : config.clusters) {
    if (!cluster.healthCheck) {
      continue;
    }
    auto& checker = checkers_[name];
    if (!checker) {
      checker = factory_(name, *cluster.healthCheck);
    }
    checker->setHosts(cluster.hosts);
    checker->markHosts(cluster.hosts);
  }
}

size_t HealthChecks::pendingHosts() const {
  size_t count = 0;
  for (const auto& [name, checker] : checkers_) {
    count += checker->pendingCount();
  }
  return count;
}

} // namespace meshd::proxy::server
