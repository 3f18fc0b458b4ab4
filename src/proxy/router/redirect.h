// Where a redirect route sends a request: Envoy's RedirectAction rules for scheme, host, port
// (a scheme change drops the old default port; host_redirect replaces host and port), path,
// prefix and query.
#pragma once

#include <string>

#include "proxy/http/header_map.h"
#include "proxy/router/route_table.h"

namespace meshd::proxy::router {

std::string redirectLocation(const RedirectAction& redirect, const Route& route,
                             const http::HeaderMap& request);

} // namespace meshd::proxy::router
