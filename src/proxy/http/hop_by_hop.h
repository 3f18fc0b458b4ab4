// The hop-by-hop header fields (RFC 9110 §7.6.1) that never cross the proxy, in either direction.
#pragma once

#include "proxy/http/header_map.h"

namespace meshd::proxy::http {

// Removes the hop-by-hop fields and the ones Connection names (never a field the mesh relies on).
// `keep_te_trailers`: an HTTP/2 request's "te: trailers" (which gRPC sends) stays, as in Envoy.
void removeHopByHop(HeaderMap& headers, bool keep_te_trailers = false);

} // namespace meshd::proxy::http
