// Retry host predicates (route retry_policy.retry_host_predicate): the hosts a request's attempts
// went to, and the host choice for a retry that re-picks while the balancer lands on one of them
// (envoy.retry_host_predicates.previous_hosts), bounded by host_selection_retry_max_attempts.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "proxy/upstream/load_balancer.h"

namespace meshd::proxy::router {

// The hosts already tried by one request (one entry per attempt: a handful at most).
class PreviousHosts {
public:
  void record(const upstream::PickedHost& host) { addresses_.push_back(host.address); }
  bool contains(const upstream::PickedHost& host) const;

private:
  std::vector<config::Endpoint> addresses_;
};

// The balancer's pick for a request; `selection_attempt` counts re-picks (0 first), so consistent
// hash balancers can step to another host instead of answering the same one again.
using HostPicker = std::function<std::optional<upstream::PickedHost>(uint32_t selection_attempt)>;

// The host for a retry: with `avoid_previous`, a pick that is in `tried` is made again, at most
// `max_reselections` more times; when every pick was already tried the last one is used (as
// Envoy: the predicate steers, it never fails a request). nullopt when the balancer has no host.
std::optional<upstream::PickedHost> pickRetryHost(const HostPicker& pick,
                                                  const PreviousHosts& tried, bool avoid_previous,
                                                  uint32_t max_reselections);

} // namespace meshd::proxy::router
