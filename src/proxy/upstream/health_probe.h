// One active health check of one host (Envoy's HTTP and TCP health checkers), as asynchronous
// network exchanges on an event loop. HealthChecker (health_checker.h) decides when to probe and
// what the results mean; probes only talk to the host. Behind an interface so that the checker's
// state machine is tested on simulated time with scripted results.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "boost/asio/io_context.hpp"
#include "proxy/config/cluster_config.h"

namespace meshd::proxy::upstream {

class HealthProbe {
public:
  enum class Result {
    kHealthy,
    kUnhealthy,        // an answer that says unhealthy: fails the host at once (Envoy's ACTIVE)
    kRetriableFailure, // an HTTP status in retriable_statuses: counts to unhealthy_threshold
    kNetworkFailure,   // no usable answer (refused, reset, closed, timeout): counts too
  };
  using Done = std::function<void(Result)>;
  virtual ~HealthProbe() = default;
  // Stops the exchange; `done` does not run after this.
  virtual void cancel() = 0;
};

// Starts one probe of `host`; `done` runs on the loop unless the probe is cancelled first.
using HealthProbeStarter =
    std::function<std::shared_ptr<HealthProbe>(const config::Endpoint& host, HealthProbe::Done)>;

// Probes over real sockets on `context` for the cluster `cluster` with `config` (an HTTP GET of
// the path, or a TCP connect with the optional payloads). The timeout is the caller's.
HealthProbeStarter networkHealthProbes(boost::asio::io_context& context, std::string cluster,
                                       config::HealthCheckConfig config);

} // namespace meshd::proxy::upstream
