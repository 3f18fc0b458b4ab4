// Choosing a listener's filter chain for a connection, as Envoy does: the criteria are applied
// in order (destination port, destination IP, server name, transport protocol, application
// protocols, source IP, source port); at each step the most specific chains that match win, and
// chains that do not constrain that criterion are the fallback. No match: the default chain.
#pragma once

#include "proxy/config/proxy_config.h"
#include "proxy/network/connection_info.h"

namespace meshd::proxy::network {

// nullptr when nothing matches and there is no default chain (the connection is closed).
const config::FilterChainConfig* selectFilterChain(const config::ListenerConfig& listener,
                                                   const ConnectionInfo& connection);

} // namespace meshd::proxy::network
