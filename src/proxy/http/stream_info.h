// What happened to one HTTP request, for stats, access logs and local replies: Envoy's response
// flags (the short codes users grep access logs for) and the local-reply texts that go with them.
#pragma once

#include <cstdint>
#include <string>

namespace meshd::proxy::http {

enum ResponseFlag : uint32_t {
  kNoRouteFound = 1u << 0,                    // NR
  kNoClusterFound = 1u << 1,                  // NC
  kNoHealthyUpstream = 1u << 2,               // UH
  kUpstreamConnectionFailure = 1u << 3,       // UF
  kUpstreamRequestTimeout = 1u << 4,          // UT
  kUpstreamConnectionTermination = 1u << 5,   // UC
  kUpstreamRemoteReset = 1u << 6,             // UR
  kDownstreamConnectionTermination = 1u << 7, // DC
  kDownstreamProtocolError = 1u << 8,         // DPE
  kUpstreamProtocolError = 1u << 9,           // UPE
  kUpstreamRetryLimitExceeded = 1u << 10,     // URX
  kStreamIdleTimeout = 1u << 11,              // SI
  kDelayInjected = 1u << 12,                  // DI (fault filter)
  kFaultInjected = 1u << 13,                  // FI (fault filter abort)
  kUpstreamOverflow = 1u << 14,               // UO (circuit breaker)
  kRateLimited = 1u << 15,                    // RL (local rate limit)
  kOverloadManager = 1u << 16,                // OL (overload manager action)
};

// "NR", "UF,URX", or "-" when no flag is set (Envoy's %RESPONSE_FLAGS% format).
std::string responseFlagsToString(uint32_t flags);

} // namespace meshd::proxy::http
