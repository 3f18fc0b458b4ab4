// removeHopByHop (hop_by_hop.h).
#include "proxy/http/hop_by_hop.h"

#include <string>
#include <string_view>

namespace meshd::proxy::http {

void removeHopByHop(HeaderMap& headers, bool keep_te_trailers) {
  if (const auto connection = headers.getJoined("connection")) {
    std::string_view rest = *connection;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string_view token = rest.substr(0, comma);
      while (!token.empty() && token.front() == ' ') {
        token.remove_prefix(1);
      }
      while (!token.empty() && token.back() == ' ') {
        token.remove_suffix(1);
      }
      const std::string lower = toLower(token);
      // Never let a client strip the fields the mesh relies on.
      if (!lower.empty() && lower[0] != ':' && lower != "host" && !lower.starts_with("x-envoy") &&
          lower != "x-request-id") {
        headers.remove(lower);
      }
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  const bool teTrailers = keep_te_trailers && headers.count("te") == 1 &&
                          toLower(headers.get("te").value_or("")) == "trailers";
  for (const char* name : {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
                           "upgrade", "te", "trailer"}) {
    headers.remove(name);
  }
  if (teTrailers) {
    headers.add("te", "trailers");
  }
}

} // namespace meshd::proxy::http
