// Istio DestinationRule: what happens to traffic for a host after routing (load balancing,
// connection pools, outlier detection, TLS) and its subsets (named label sets).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "control/config/common.h"
#include "control/config/config_object.h"
#include "control/config/diagnostic.h"
#include "control/config/networking/traffic_policy.h"

namespace meshd::control::config {

struct Subset {
  std::string name; // a DNS label, unique in the rule
  Labels labels;
  std::optional<TrafficPolicy> trafficPolicy;
};

struct DestinationRule {
  ObjectMeta meta;
  std::string host; // as written; resolveShortHost(host, meta.ns) for the FQDN
  std::optional<TrafficPolicy> trafficPolicy;
  std::vector<Subset> subsets;
  std::vector<std::string> exportTo;
  std::optional<Labels> workloadSelector;
};

std::optional<DestinationRule> parseDestinationRule(const ConfigObject& object,
                                                    std::vector<Diagnostic>& out);

} // namespace meshd::control::config
