// Envoy's active health checking for one cluster, on the main thread: each host is probed every
// `interval` (plus jitter); a probe gets `timeout` to answer. A host starts failed and pending
// (Envoy's failed_active_hc and pending_active_hc) until its first check: a first success makes
// it healthy at once, later `healthy_threshold` successes in a row; `unhealthy_threshold`
// network failures (refused, reset, timeout) or retriable statuses in a row fail it, and an
// answer that says unhealthy (an unexpected HTTP status) fails it at once. The runtime marks
// failing hosts (HostConfig::failedActiveHc) when it is built, so load balancing, priorities and
// panic see them like any unhealthy host. A host keeps its state while it stays in the cluster.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/stats/store.h"
#include "core/timer.h"
#include "proxy/config/cluster_config.h"
#include "proxy/upstream/health_probe.h"

namespace meshd::proxy::upstream {

class HealthChecker {
public:
  // `changed` runs when a host's health flags changed (the caller rebuilds the runtime).
  HealthChecker(core::TimerFactory& timers, core::RandomGenerator& random, stats::Store& store,
                const std::string& cluster, config::HealthCheckConfig config,
                HealthProbeStarter probes, std::function<void()> changed);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  const config::HealthCheckConfig& config() const { return config_; }
  // The cluster's hosts now: new ones start being checked, gone ones stop.
  void setHosts(const std::vector<config::HostConfig>& hosts);
  // Sets failedActiveHc and pendingActiveHc of each host from its checks.
  void markHosts(std::vector<config::HostConfig>& hosts) const;
  size_t healthyCount() const;
  // Hosts whose first check has not finished yet.
  size_t pendingCount() const;

private:
  struct Session {
    config::Endpoint address;
    bool failed = true;
    bool pending = true; // no check has finished yet
    uint32_t successesInARow = 0;
    uint32_t failuresInARow = 0;
    std::unique_ptr<core::Timer> next;    // the next check
    std::unique_ptr<core::Timer> timeout; // the check in flight
    std::shared_ptr<HealthProbe> probe;   // in flight
    bool inFlight = false;
  };
  struct Stats {
    stats::Counter attempt;
    stats::Counter success;
    stats::Counter failure;
    stats::Counter networkFailure;
    stats::SetGauge healthy;
  };

  void startSession(Session& session);
  void check(Session& session);
  void onResult(Session& session, HealthProbe::Result result);
  std::chrono::milliseconds nextInterval();

  core::TimerFactory& timers_;
  core::RandomGenerator& random_;
  std::string cluster_;
  config::HealthCheckConfig config_;
  HealthProbeStarter probes_;
  std::function<void()> changed_;
  Stats stats_;
  std::map<config::Endpoint, std::unique_ptr<Session>> sessions_;
};

} // namespace meshd::proxy::upstream
