// HTTP/2 connection settings (envoy.config.core.v3.Http2ProtocolOptions), shared by the connection
// manager (downstream) and clusters (upstream). The defaults are bounded on purpose: Envoy's
// (2^31-1 streams, 256 MiB windows) let one peer make the proxy buffer gigabytes, while these bound
// what a connection can hold to its connection window.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "envoy/config/core/v3/protocol.pb.h"

namespace meshd::proxy::config {

struct Http2Options {
  uint32_t maxConcurrentStreams = 1024;
  uint32_t initialStreamWindowSize = 1 << 20;     // 1 MiB
  uint32_t initialConnectionWindowSize = 4 << 20; // 4 MiB
  bool operator==(const Http2Options&) const = default;
};

// Validates the fields mesh-proxy honours (RFC 9113's bounds); errors name the field under `where`.
absl::StatusOr<Http2Options>
buildHttp2Options(const envoy::config::core::v3::Http2ProtocolOptions& proto,
                  const std::string& where);

} // namespace meshd::proxy::config
