// Filter chain selection (filter_chain_matcher.h).
#include "proxy/network/filter_chain_matcher.h"

#include <algorithm>
#include <functional>

namespace meshd::proxy::network {
namespace {

using Chains = std::vector<const config::FilterChainConfig*>;

// Keeps the chains with the best (highest) score; a score < 0 means "does not match". Chains
// that do not constrain the criterion score 0, so any matching constraint beats them.
Chains narrow(const Chains& chains,
              const std::function<int(const config::FilterChainMatch&)>& score) {
  int best = -1;
  for (const auto* chain : chains) {
    best = std::max(best, score(chain->match));
  }
  Chains out;
  if (best < 0) {
    return out;
  }
  for (const auto* chain : chains) {
    if (score(chain->match) == best) {
      out.push_back(chain);
    }
  }
  return out;
}

int bestPrefix(const std::vector<config::CidrRange>& ranges,
               const boost::asio::ip::address& address) {
  if (ranges.empty()) {
    return 0;
  }
  int best = -1;
  for (const auto& range : ranges) {
    if (range.contains(address)) {
      best = std::max(best, static_cast<int>(range.prefixLength) + 1);
    }
  }
  return best;
}

int serverNameScore(const std::vector<std::string>& names, const std::string& sni) {
  if (names.empty()) {
    return 0;
  }
  int best = -1;
  for (const auto& name : names) {
    if (name == sni) {
      return 1 << 20; // exact beats every wildcard
    }
    if (name.starts_with("*.") && sni.size() > name.size() - 1 &&
        sni.ends_with(std::string_view(name).substr(1))) {
      best = std::max(best, static_cast<int>(name.size()));
    }
  }
  return best;
}

} // namespace

const config::FilterChainConfig* selectFilterChain(const config::ListenerConfig& listener,
                                                   const ConnectionInfo& connection) {
  Chains chains;
  for (const auto& chain : listener.filterChains) {
    chains.push_back(&chain);
  }
  const auto local = connection.localAddress;
  const auto remote = connection.remoteAddress;
  chains = narrow(chains, [&](const config::FilterChainMatch& m) {
    return !m.destinationPort ? 0 : *m.destinationPort == local.port() ? 1 : -1;
  });
  chains = narrow(chains, [&](const config::FilterChainMatch& m) {
    return bestPrefix(m.prefixRanges, local.address());
  });
  chains = narrow(chains, [&](const config::FilterChainMatch& m) {
    return serverNameScore(m.serverNames, connection.serverName);
  });
  chains = narrow(chains, [&](const config::FilterChainMatch& m) {
    return m.transportProtocol.empty()                           ? 0
           : m.transportProtocol == connection.transportProtocol ? 1
                                                                 : -1;
  });
  chains = narrow(chains, [&](const config::FilterChainMatch& m) {
    if (m.applicationProtocols.empty()) {
      return 0;
    }
    for (const auto& protocol : m.applicationProtocols) {
      if (std::find(connection.applicationProtocols.begin(), connection.applicationProtocols.end(),
                    protocol) != connection.applicationProtocols.end()) {
        return 1;
      }
    }
    return -1;
  });
  chains = narrow(chains, [&](const config::FilterChainMatch& m) {
    return bestPrefix(m.sourcePrefixRanges, remote.address());
  });
  chains = narrow(chains, [&](const config::FilterChainMatch& m) {
    if (m.sourcePorts.empty()) {
      return 0;
    }
    return std::find(m.sourcePorts.begin(), m.sourcePorts.end(), remote.port()) !=
                   m.sourcePorts.end()
               ? 1
               : -1;
  });
  if (!chains.empty()) {
    return chains.front();
  }
  return listener.defaultFilterChain ? &*listener.defaultFilterChain : nullptr;
}

} // namespace meshd::proxy::network
