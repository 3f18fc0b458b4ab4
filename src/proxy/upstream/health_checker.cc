// HealthChecker (health_checker.h).
#include "proxy/upstream/health_checker.h"

#include "core/logging.h"

namespace meshd::proxy::upstream {
namespace {

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("upstream");
  return instance;
}

std::string describe(const config::Endpoint& address) {
  return fmt::format("{}:{}", address.address().to_string(), address.port());
}

const char* describe(HealthProbe::Result result) {
  switch (result) {
  case HealthProbe::Result::kHealthy: return "healthy";
  case HealthProbe::Result::kUnhealthy: return "unhealthy answer";
  case HealthProbe::Result::kRetriableFailure: return "retriable status";
  case HealthProbe::Result::kNetworkFailure: return "network failure or timeout";
  }
  return "?";
}

} // namespace

HealthChecker::HealthChecker(core::TimerFactory& timers, core::RandomGenerator& random,
                             stats::Store& store, const std::string& cluster,
                             config::HealthCheckConfig config, HealthProbeStarter probes,
                             std::function<void()> changed)
    : timers_(timers), random_(random), cluster_(cluster), config_(std::move(config)),
      probes_(std::move(probes)), changed_(std::move(changed)) {
  const stats::Tags tags = {{"envoy_cluster_name", cluster}};
  stats_ = Stats{
      store.counter("cluster.health_check.attempt", tags, "Health checks started"),
      store.counter("cluster.health_check.success", tags, "Health checks passed"),
      store.counter("cluster.health_check.failure", tags, "Health checks failed (any reason)"),
      store.counter("cluster.health_check.network_failure", tags,
                    "Health checks failed for a network error or timeout"),
      store.setGauge("cluster.health_check.healthy", tags, "Hosts passing their health checks"),
  };
}

HealthChecker::~HealthChecker() {
  for (auto& [address, session] : sessions_) {
    if (session->probe) {
      session->probe->cancel();
    }
  }
}

void HealthChecker::setHosts(const std::vector<config::HostConfig>& hosts) {
  std::map<config::Endpoint, std::unique_ptr<Session>> kept;
  for (const auto& host : hosts) {
    if (kept.contains(host.address)) {
      continue;
    }
    auto existing = sessions_.find(host.address);
    if (existing != sessions_.end()) {
      kept.emplace(host.address, std::move(existing->second));
      sessions_.erase(existing);
      continue;
    }
    auto session = std::make_unique<Session>();
    session->address = host.address;
    Session& started = *kept.emplace(host.address, std::move(session)).first->second;
    startSession(started);
  }
  for (auto& [address, session] : sessions_) { // gone from the cluster
    if (session->probe) {
      session->probe->cancel();
    }
  }
  sessions_ = std::move(kept);
  stats_.healthy.set(static_cast<int64_t>(healthyCount()));
}

void HealthChecker::markHosts(std::vector<config::HostConfig>& hosts) const {
  for (auto& host : hosts) {
    const auto found = sessions_.find(host.address);
    host.failedActiveHc = found == sessions_.end() || found->second->failed;
    host.pendingActiveHc = found == sessions_.end() || found->second->pending;
  }
}

size_t HealthChecker::healthyCount() const {
  size_t count = 0;
  for (const auto& [address, session] : sessions_) {
    count += session->failed ? 0 : 1;
  }
  return count;
}

size_t HealthChecker::pendingCount() const {
  size_t count = 0;
  for (const auto& [address, session] : sessions_) {
    count += session->pending ? 1 : 0;
  }
  return count;
}

void HealthChecker::startSession(Session& session) {
  session.next = timers_.createTimer([this, &session] { check(session); });
  session.timeout = timers_.createTimer([this, &session] {
    session.inFlight = false;
    if (session.probe) {
      std::exchange(session.probe, nullptr)->cancel();
    }
    onResult(session, HealthProbe::Result::kNetworkFailure);
  });
  // initial_jitter spreads the first checks of many hosts.
  const auto jitter = config_.initialJitter.count() > 0
                          ? std::chrono::milliseconds(random_.uniform(
                                static_cast<uint64_t>(config_.initialJitter.count())))
                          : std::chrono::milliseconds(0);
  session.next->enable(jitter);
}

void HealthChecker::check(Session& session) {
  stats_.attempt.inc();
  session.timeout->enable(config_.timeout);
  session.inFlight = true;
  auto probe = probes_(session.address, [this, &session](HealthProbe::Result result) {
    session.inFlight = false;
    session.probe.reset();
    session.timeout->disable();
    onResult(session, result);
  });
  if (session.inFlight) { // a probe may answer before it is even returned
    session.probe = std::move(probe);
  }
}

void HealthChecker::onResult(Session& session, HealthProbe::Result result) {
  const bool wasFailed = session.failed;
  const bool wasPending = std::exchange(session.pending, false);
  if (result == HealthProbe::Result::kHealthy) {
    stats_.success.inc();
    session.failuresInARow = 0;
    // The first check after a host appears bypasses healthy_threshold (as Envoy).
    if (session.failed && (wasPending || ++session.successesInARow >= config_.healthyThreshold)) {
      session.failed = false;
      session.successesInARow = 0;
    }
  } else {
    stats_.failure.inc();
    if (result == HealthProbe::Result::kNetworkFailure) {
      stats_.networkFailure.inc();
    }
    session.successesInARow = 0;
    if (!session.failed && (result == HealthProbe::Result::kUnhealthy ||
                            ++session.failuresInARow >= config_.unhealthyThreshold)) {
      session.failed = true;
      session.failuresInARow = 0;
    }
    if (config_.alwaysLogFailures) {
      MESHD_LOG(logger(), warn, "cluster '{}': health check of {} failed: {}", cluster_,
                describe(session.address), describe(result));
    } else {
      MESHD_LOG(logger(), debug, "cluster '{}': health check of {} failed: {}", cluster_,
                describe(session.address), describe(result));
    }
  }
  session.next->enable(nextInterval());
  if (session.failed != wasFailed) {
    MESHD_LOG(logger(), info, "cluster '{}': host {} is now {} (active health check)", cluster_,
              describe(session.address), session.failed ? "unhealthy" : "healthy");
  }
  if (session.failed != wasFailed || wasPending) {
    stats_.healthy.set(static_cast<int64_t>(healthyCount()));
    if (changed_) {
      changed_();
    }
  }
}

std::chrono::milliseconds HealthChecker::nextInterval() {
  auto interval = config_.interval;
  // Envoy's jitter: a random share of interval_jitter_percent of the interval, plus a random
  // part of interval_jitter.
  const uint64_t percentSpan =
      static_cast<uint64_t>(config_.interval.count()) * config_.intervalJitterPercent / 100;
  if (percentSpan > 0) {
    interval += std::chrono::milliseconds(random_.uniform(percentSpan));
  }
  if (config_.intervalJitter.count() > 0) {
    interval += std::chrono::milliseconds(
        random_.uniform(static_cast<uint64_t>(config_.intervalJitter.count())));
  }
  return interval;
}

} // namespace meshd::proxy::upstream
