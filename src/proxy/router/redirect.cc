// The Location of a redirect route (redirect.h).
#include "proxy/router/redirect.h"

#include <algorithm>

#include "fmt/format.h"

namespace meshd::proxy::router {

std::string redirectLocation(const RedirectAction& redirect, const Route& route,
                             const http::HeaderMap& request) {
  std::string authority(request.authority());
  std::string host = authority;
  std::string port;
  if (const size_t colon = authority.rfind(':');
      colon != std::string::npos && authority.find(']') == std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  const std::string oldScheme(request.get(":scheme").value_or("http"));
  const std::string scheme = redirect.scheme.empty() ? oldScheme : redirect.scheme;
  if (!redirect.host.empty()) {
    host = redirect.host;
    port.clear(); // host_redirect replaces host and port (it may carry its own port)
  }
  if (redirect.port != 0) {
    port = std::to_string(redirect.port);
  } else if (!redirect.scheme.empty() &&
             ((oldScheme == "http" && port == "80") || (oldScheme == "https" && port == "443"))) {
    port.clear(); // a scheme change drops the old scheme's default port, as Envoy does
  }
  std::string path(request.path());
  const size_t question = path.find('?');
  std::string query = question == std::string::npos ? "" : path.substr(question);
  path = path.substr(0, question);
  if (!redirect.path.empty()) {
    path = redirect.path;
    if (path.find('?') != std::string::npos) {
      query.clear(); // a path_redirect with a query replaces the request's query
    }
  } else if (!redirect.prefix.empty() && route.pathKind == Route::PathKind::kPrefix) {
    path = redirect.prefix + path.substr(std::min(route.path.size(), path.size()));
  }
  if (redirect.stripQuery) {
    query.clear();
  }
  return fmt::format("{}://{}{}{}{}", scheme, host, port.empty() ? "" : ":", port, path + query);
}

} // namespace meshd::proxy::router
