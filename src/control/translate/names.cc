// Istio's resource names (names.h).
#include "control/translate/names.h"

#include "fmt/format.h"

namespace meshd::control::translate {

std::string outboundClusterName(uint32_t port, std::string_view subset, std::string_view host) {
  return fmt::format("outbound|{}|{}|{}", port, subset, host);
}

std::string inboundClusterName(uint32_t port) {
  return fmt::format("inbound|{}||", port);
}

std::string outboundRouteName(uint32_t port) {
  return std::to_string(port);
}

std::string gatewayRouteName(uint32_t port) {
  return fmt::format("http.{}", port);
}

std::string gatewayHttpsRouteName(uint32_t port, std::string_view portName,
                                  std::string_view gateway, std::string_view ns) {
  return fmt::format("https.{}.{}.{}.{}", port, portName, gateway, ns);
}

std::string grpcListenerName(std::string_view host, uint32_t port) {
  return fmt::format("{}:{}", host, port);
}

std::string wildcardListenerName(uint32_t port) {
  return fmt::format("0.0.0.0_{}", port);
}

} // namespace meshd::control::translate
