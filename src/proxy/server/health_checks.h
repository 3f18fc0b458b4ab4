// The active health checkers of all clusters (main thread), kept in step with the config: before
// a runtime is built, each cluster with a health check gets a checker (kept while its
// health_checks config stays the same, so hosts keep their state across cluster and endpoint
// updates), removed clusters' checkers stop, and every host is marked with its check results.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "proxy/config/proxy_config.h"
#include "proxy/upstream/health_checker.h"

namespace meshd::proxy::server {

class HealthChecks {
public:
  using Factory = std::function<std::unique_ptr<upstream::HealthChecker>(
      const std::string& cluster, const config::HealthCheckConfig& config)>;
  explicit HealthChecks(Factory factory) : factory_(std::move(factory)) {}

  // Starts, keeps or stops checkers for `config`'s clusters and marks their hosts.
  void apply(config::ProxyConfig& config);
  // Hosts of all clusters whose first check has not finished.
  size_t pendingHosts() const;

private:
  Factory factory_;
  std::map<std::string, std::unique_ptr<upstream::HealthChecker>> checkers_;
};

} // namespace meshd::proxy::server
