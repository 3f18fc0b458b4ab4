// Retry host predicates (retry_host_selection.h).
#include "proxy/router/retry_host_selection.h"

#include <algorithm>

namespace meshd::proxy::router {

bool PreviousHosts::contains(const upstream::PickedHost& host) const {
  return std::find(addresses_.begin(), addresses_.end(), host.address) != addresses_.end();
}

std::optional<upstream::PickedHost> pickRetryHost(const HostPicker& pick,
                                                  const PreviousHosts& tried, bool avoid_previous,
                                                  uint32_t max_reselections) {
  const uint32_t picks = avoid_previous ? max_reselections + 1 : 1;
  std::optional<upstream::PickedHost> host;
  for (uint32_t attempt = 0; attempt < picks; ++attempt) {
    host = pick(attempt);
    if (!host || !avoid_previous || !tried.contains(*host)) {
      return host;
    }
  }
  return host;
}

} // namespace meshd::proxy::router
