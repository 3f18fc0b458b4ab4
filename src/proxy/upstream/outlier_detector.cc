// OutlierDetector (outlier_detector.h).
#include "proxy/upstream/outlier_detector.h"

#include <cmath>
#include <vector>

#include "core/logging.h"
#include "fmt/format.h"

namespace meshd::proxy::upstream {
namespace {

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("upstream");
  return instance;
}

// Increments `counter` and says whether it just reached `threshold` (0: never).
bool reached(std::atomic<uint32_t>& counter, uint32_t threshold) {
  return threshold > 0 && counter.fetch_add(1, std::memory_order_relaxed) + 1 == threshold;
}

} // namespace

OutlierDetector::OutlierDetector(PostToMain post, const core::TimeSource& time,
                                 core::RandomGenerator& random)
    : post_(std::move(post)), time_(time), random_(random) {}

OutlierDetector::~OutlierDetector() {
  *alive_ = false;
}

std::shared_ptr<OutlierDetector>
OutlierDetector::create(core::TimerFactory& timers, PostToMain post, const core::TimeSource& time,
                        core::RandomGenerator& random, stats::Store& store,
                        const std::string& cluster, config::OutlierDetectionConfig config,
                        std::function<void()> changed) {
  std::shared_ptr<OutlierDetector> detector(new OutlierDetector(std::move(post), time, random));
  const stats::Tags tags = {{"envoy_cluster_name", cluster}};
  auto counter = [&](const char* name, const char* help) {
    return store.counter(fmt::format("cluster.outlier_detection.{}", name), tags, help);
  };
  detector->stats_ = Stats{
      store.setGauge("cluster.outlier_detection.ejections_active", tags, "Hosts ejected now"),
      counter("ejections_enforced_total", "Ejections made"),
      counter("ejections_overflow", "Ejections not made because of max_ejection_percent"),
      counter("ejections_enforced_consecutive_5xx", "Ejections for consecutive 5xx"),
      counter("ejections_enforced_consecutive_gateway_failure",
              "Ejections for consecutive gateway failures"),
      counter("ejections_enforced_consecutive_local_origin_failure",
              "Ejections for consecutive local-origin failures"),
      counter("ejections_enforced_success_rate", "Ejections for a low success rate"),
      counter("ejections_enforced_failure_percentage", "Ejections for a high failure percentage"),
  };
  detector->config_ = config;
  detector->changed_ = std::move(changed);
  detector->timer_ = timers.createTimer([weak = std::weak_ptr(detector)] {
    if (auto self = weak.lock()) {
      self->sweep();
      self->timer_->enable(self->config_.interval);
    }
  });
  detector->timer_->enable(config.interval);
  return detector;
}

std::vector<std::shared_ptr<OutlierDetector::Host>>
OutlierDetector::hostsFor(const std::vector<config::HostConfig>& hosts) {
  std::map<config::Endpoint, std::shared_ptr<Host>> kept;
  std::vector<std::shared_ptr<Host>> out;
  for (const auto& host : hosts) {
    auto& state = kept[host.address];
    if (!state) {
      const auto existing = hosts_.find(host.address);
      state = existing != hosts_.end() ? existing->second : std::make_shared<Host>();
    }
    out.push_back(state);
  }
  hosts_ = std::move(kept);
  stats_.ejectionsActive.set(static_cast<int64_t>(ejectedCount()));
  return out;
}

bool OutlierDetector::ejected(const config::Endpoint& address) const {
  const auto found = hosts_.find(address);
  return found != hosts_.end() && found->second->ejected;
}

size_t OutlierDetector::ejectedCount() const {
  size_t count = 0;
  for (const auto& [address, host] : hosts_) {
    count += host->ejected ? 1 : 0;
  }
  return count;
}

void OutlierDetector::report(const std::shared_ptr<Host>& host, const config::Endpoint& address,
                             Outcome outcome) {
  host->intervalRequests.fetch_add(1, std::memory_order_relaxed);
  if (outcome == Outcome::kSuccess) {
    host->consecutive5xx = 0;
    host->consecutiveGateway = 0;
    host->consecutiveLocalOrigin = 0;
    return;
  }
  host->intervalFailures.fetch_add(1, std::memory_order_relaxed);
  std::optional<Reason> reason;
  // Without split_external_local_origin_errors a local-origin failure counts as a gateway error
  // (Envoy treats a connect failure like a 503).
  const bool local = outcome == Outcome::kLocalOriginFailure;
  if (local && config_.splitExternalLocalOriginErrors) {
    if (reached(host->consecutiveLocalOrigin, config_.consecutiveLocalOriginFailure)) {
      reason = Reason::kConsecutiveLocalOrigin;
    }
  } else {
    if (reached(host->consecutive5xx, config_.consecutive5xx)) {
      reason = Reason::kConsecutive5xx;
    }
    if (outcome != Outcome::kServerError &&
        reached(host->consecutiveGateway, config_.consecutiveGatewayFailure) && !reason) {
      reason = Reason::kConsecutiveGateway;
    }
  }
  if (reason) {
    post_([weak = weak_from_this(), address, r = *reason] {
      if (auto self = weak.lock()) {
        self->ejectOnMain(address, r);
      }
    });
  }
}

void OutlierDetector::ejectOnMain(const config::Endpoint& address, Reason reason) {
  switch (reason) {
  case Reason::kConsecutive5xx:
    eject(address, config_.enforcingConsecutive5xx, stats_.enforcedConsecutive5xx);
    return;
  case Reason::kConsecutiveGateway:
    eject(address, config_.enforcingConsecutiveGatewayFailure, stats_.enforcedConsecutiveGateway);
    return;
  case Reason::kConsecutiveLocalOrigin:
    eject(address, config_.enforcingConsecutiveLocalOriginFailure,
          stats_.enforcedConsecutiveLocalOrigin);
    return;
  }
}

bool OutlierDetector::eject(const config::Endpoint& address, uint32_t enforcing,
                            const stats::Counter& counter) {
  const auto found = hosts_.find(address);
  if (found == hosts_.end() || found->second->ejected) {
    return false;
  }
  Host& host = *found->second;
  // Counting starts over either way: the next detection needs new consecutive failures.
  host.consecutive5xx = 0;
  host.consecutiveGateway = 0;
  host.consecutiveLocalOrigin = 0;
  if (enforcing == 0 || random_.uniform(100) >= enforcing) {
    return false;
  }
  // max_ejection_percent, but one host may always be ejected (as Envoy).
  const size_t ejectedNow = ejectedCount();
  if (ejectedNow > 0 && (ejectedNow + 1) * 100 > config_.maxEjectionPercent * hosts_.size()) {
    stats_.ejectionsOverflow.inc();
    return false;
  }
  host.ejected = true;
  ++host.timesEjected;
  host.ejectedAt = time_.monotonicNow();
  counter.inc();
  stats_.ejectionsEnforcedTotal.inc();
  stats_.ejectionsActive.set(static_cast<int64_t>(ejectedNow + 1));
  MESHD_LOG(logger(), info, "outlier detection ejected {}:{} (ejection #{})",
            address.address().to_string(), address.port(), host.timesEjected);
  if (changed_) {
    changed_();
  }
  return true;
}

void OutlierDetector::sweep() {
  const core::MonotonicTime now = time_.monotonicNow();
  bool changed = false;
  for (auto& [address, host] : hosts_) {
    if (host->ejected) {
      const auto ejection = std::min<std::chrono::milliseconds>(
          config_.baseEjectionTime * host->timesEjected, config_.maxEjectionTime);
      if (now - host->ejectedAt >= ejection) {
        host->ejected = false;
        host->consecutive5xx = 0;
        host->consecutiveGateway = 0;
        host->consecutiveLocalOrigin = 0;
        changed = true;
        MESHD_LOG(logger(), info, "outlier detection brought back {}:{}",
                  address.address().to_string(), address.port());
      }
    } else if (host->timesEjected > 0) {
      --host->timesEjected; // a good interval shortens the next ejection again
    }
  }
  ejectOutliersByRate();
  for (auto& [address, host] : hosts_) {
    host->intervalRequests = 0;
    host->intervalFailures = 0;
  }
  stats_.ejectionsActive.set(static_cast<int64_t>(ejectedCount()));
  if (changed && changed_) {
    changed_();
  }
}

void OutlierDetector::ejectOutliersByRate() {
  struct Sample {
    config::Endpoint address;
    double successPercent;
    uint64_t requests;
  };
  std::vector<Sample> samples;
  for (const auto& [address, host] : hosts_) {
    const uint64_t requests = host->intervalRequests.load();
    if (!host->ejected && requests > 0) {
      const uint64_t failures = host->intervalFailures.load();
      samples.push_back(
          {address,
           100.0 * static_cast<double>(requests - failures) / static_cast<double>(requests),
           requests});
    }
  }
  // Success rate: below mean - stdev * factor among hosts with enough requests.
  std::vector<const Sample*> rated;
  for (const auto& sample : samples) {
    if (sample.requests >= config_.successRateRequestVolume) {
      rated.push_back(&sample);
    }
  }
  if (!rated.empty() && rated.size() >= config_.successRateMinimumHosts) {
    double mean = 0;
    for (const auto* sample : rated) {
      mean += sample->successPercent;
    }
    mean /= static_cast<double>(rated.size());
    double variance = 0;
    for (const auto* sample : rated) {
      variance += (sample->successPercent - mean) * (sample->successPercent - mean);
    }
    const double threshold =
        mean - std::sqrt(variance / static_cast<double>(rated.size())) *
                   (static_cast<double>(config_.successRateStdevFactor) / 1000.0);
    for (const auto* sample : rated) {
      if (sample->successPercent < threshold) {
        eject(sample->address, config_.enforcingSuccessRate, stats_.enforcedSuccessRate);
      }
    }
  }
  // Failure percentage: at or above the threshold.
  size_t eligible = 0;
  for (const auto& sample : samples) {
    eligible += sample.requests >= config_.failurePercentageRequestVolume ? 1 : 0;
  }
  if (eligible > 0 && eligible >= config_.failurePercentageMinimumHosts) {
    for (const auto& sample : samples) {
      if (sample.requests >= config_.failurePercentageRequestVolume &&
          100.0 - sample.successPercent >= config_.failurePercentageThreshold) {
        eject(sample.address, config_.enforcingFailurePercentage, stats_.enforcedFailurePercentage);
      }
    }
  }
}

} // namespace meshd::proxy::upstream
