// Envoy's outlier detection for one cluster: workers report each request's outcome per host
// (lock-free counters); consecutive failures eject a host at once, and an interval sweep on the
// main thread ejects by success rate or failure percentage and brings hosts back after their
// ejection time (base_ejection_time × times ejected, at most max_ejection_time). An ejected host
// is marked in the cluster's config when the runtime is built (HostConfig::ejected), so load
// balancing, priorities and panic treat it like an unhealthy one. Kept across updates of the
// cluster's hosts, by host address; a new outlier_detection config starts a new detector (as a
// CDS update does in Envoy). The config is immutable, so workers read it without a lock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/random.h"
#include "core/stats/store.h"
#include "core/time_source.h"
#include "core/timer.h"
#include "proxy/config/cluster_config.h"

namespace meshd::proxy::upstream {

class OutlierDetector : public std::enable_shared_from_this<OutlierDetector> {
public:
  // What happened to one request (or connection) to a host.
  enum class Outcome {
    kSuccess,            // a response that is not an error
    kServerError,        // a 5xx response other than 502/503/504
    kGatewayError,       // 502, 503 or 504
    kLocalOriginFailure, // connect failure, timeout or reset: no response
  };

  // Per-host counters, shared with the workers that report to it.
  struct Host {
    std::atomic<uint32_t> consecutive5xx{0};
    std::atomic<uint32_t> consecutiveGateway{0};
    std::atomic<uint32_t> consecutiveLocalOrigin{0};
    std::atomic<uint64_t> intervalRequests{0};
    std::atomic<uint64_t> intervalFailures{0};
    // Main thread only.
    bool ejected = false;
    uint32_t timesEjected = 0;
    core::MonotonicTime ejectedAt{};
  };

  // `changed` runs on the main thread when a host was ejected or came back (the caller rebuilds
  // the runtime so that load balancing sees it).
  // Runs a task on the main thread (EventLoop::post there).
  using PostToMain = std::function<void(std::function<void()>)>;
  static std::shared_ptr<OutlierDetector>
  create(core::TimerFactory& timers, PostToMain post, const core::TimeSource& time,
         core::RandomGenerator& random, stats::Store& store, const std::string& cluster,
         config::OutlierDetectionConfig config, std::function<void()> changed);
  ~OutlierDetector();

  const config::OutlierDetectionConfig& config() const { return config_; }
  // Main thread, when the cluster's hosts are known: the state of each (existing hosts keep
  // theirs; hosts no longer there are forgotten).
  std::vector<std::shared_ptr<Host>> hostsFor(const std::vector<config::HostConfig>& hosts);
  bool ejected(const config::Endpoint& address) const; // main thread

  // Any thread: one outcome for `host` (from hostsFor). May eject it (on the main thread).
  void report(const std::shared_ptr<Host>& host, const config::Endpoint& address, Outcome outcome);

  // The interval sweep (normally on its timer; public for tests).
  void sweep();
  size_t ejectedCount() const; // main thread

private:
  enum class Reason { kConsecutive5xx, kConsecutiveGateway, kConsecutiveLocalOrigin };
  struct Stats {
    stats::SetGauge ejectionsActive;
    stats::Counter ejectionsEnforcedTotal;
    stats::Counter ejectionsOverflow;
    stats::Counter enforcedConsecutive5xx;
    stats::Counter enforcedConsecutiveGateway;
    stats::Counter enforcedConsecutiveLocalOrigin;
    stats::Counter enforcedSuccessRate;
    stats::Counter enforcedFailurePercentage;
  };
  OutlierDetector(PostToMain post, const core::TimeSource& time, core::RandomGenerator& random);
  // Main thread: ejects when enforcing (percent) allows and max_ejection_percent has room.
  bool eject(const config::Endpoint& address, uint32_t enforcing, const stats::Counter& counter);
  void ejectOnMain(const config::Endpoint& address, Reason reason);
  void ejectOutliersByRate();

  PostToMain post_;
  const core::TimeSource& time_;
  core::RandomGenerator& random_;
  config::OutlierDetectionConfig config_;
  Stats stats_;
  std::function<void()> changed_;
  std::unique_ptr<core::Timer> timer_;
  std::map<config::Endpoint, std::shared_ptr<Host>> hosts_; // main thread
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace meshd::proxy::upstream
