// Trust for x-envoy-* request headers (envoy_request_headers.h).
#include "proxy/http/envoy_request_headers.h"

namespace meshd::proxy::http {

bool isInternalAddress(const boost::asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return isInternalAddress(
        boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6()));
  }
  if (address.is_v4()) {
    const uint32_t ip = address.to_v4().to_uint();
    return (ip >> 24) == 10 || (ip >> 20) == ((172u << 4) | 1) ||
           (ip >> 16) == ((192u << 8) | 168) || (ip >> 24) == 127;
  }
  const auto bytes = address.to_v6().to_bytes();
  return address.is_loopback() || bytes[0] == 0xfd;
}

void removeEnvoyRequestControlHeaders(HeaderMap& headers) {
  for (const char* name :
       {"x-envoy-decorator-operation", "x-envoy-downstream-service-cluster",
        "x-envoy-downstream-service-node", "x-envoy-expected-rq-timeout-ms", "x-envoy-force-trace",
        "x-envoy-internal", "x-envoy-ip-tags", "x-envoy-max-retries", "x-envoy-retry-grpc-on",
        "x-envoy-retry-on", "x-envoy-upstream-alt-stat-name",
        "x-envoy-upstream-rq-per-try-timeout-ms", "x-envoy-upstream-rq-timeout-alt-response",
        "x-envoy-upstream-rq-timeout-ms", "x-envoy-upstream-stream-duration-ms"}) {
    headers.remove(name);
  }
}

} // namespace meshd::proxy::http
