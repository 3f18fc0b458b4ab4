// Response flag names (stream_info.h).
#include "proxy/http/stream_info.h"

#include <utility>

namespace meshd::proxy::http {

std::string responseFlagsToString(uint32_t flags) {
  static constexpr std::pair<ResponseFlag, const char*> kNames[] = {
      {kNoRouteFound, "NR"},
      {kNoClusterFound, "NC"},
      {kNoHealthyUpstream, "UH"},
      {kUpstreamConnectionFailure, "UF"},
      {kUpstreamRequestTimeout, "UT"},
      {kUpstreamConnectionTermination, "UC"},
      {kUpstreamRemoteReset, "UR"},
      {kDownstreamConnectionTermination, "DC"},
      {kDownstreamProtocolError, "DPE"},
      {kUpstreamProtocolError, "UPE"},
      {kUpstreamRetryLimitExceeded, "URX"},
      {kStreamIdleTimeout, "SI"},
      {kDelayInjected, "DI"},
      {kFaultInjected, "FI"},
      {kUpstreamOverflow, "UO"},
      {kRateLimited, "RL"},
      {kOverloadManager, "OL"},
  };
  std::string out;
  for (const auto& [flag, name] : kNames) {
    if (flags & flag) {
      if (!out.empty()) {
        out += ',';
      }
      out += name;
    }
  }
  return out.empty() ? "-" : out;
}

} // namespace meshd::proxy::http
