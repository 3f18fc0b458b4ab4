// The callback the host refreshers (DNS, EDS files) give a cluster's new hosts to: the owner
// rebuilds the runtime with them. Called on the main thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "proxy/config/cluster_config.h"

namespace meshd::proxy::upstream {

using HostsChanged =
    std::function<void(const std::string& cluster, std::vector<config::HostConfig> hosts)>;

} // namespace meshd::proxy::upstream
