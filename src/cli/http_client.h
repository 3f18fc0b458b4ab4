// A small blocking HTTP/1.1 client for meshctl's requests to meshd: one request per connection
// (Connection: close), plain TCP, a bound on connect and on the whole exchange. Enough for a CLI
// talking to a control plane on loopback; not a general-purpose client.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace meshd::cli {

struct HttpResponse {
  int status = 0;
  std::string body;
};

// "http://127.0.0.1:15014" (a trailing '/' is allowed; the scheme may be left out).
struct HttpEndpoint {
  std::string host;
  uint16_t port = 0;
  std::string toString() const;
};
absl::StatusOr<HttpEndpoint> parseHttpEndpoint(const std::string& url);

// Unavailable when the server cannot be reached (refused, unresolvable, timed out connecting);
// DeadlineExceeded or Internal when the exchange fails after connecting.
absl::StatusOr<HttpResponse>
httpRequest(const HttpEndpoint& endpoint, const std::string& method, const std::string& target,
            const std::string& body = {},
            std::chrono::milliseconds timeout = std::chrono::seconds(30));

} // namespace meshd::cli
