// Protocol selection for Kubernetes Service ports (protocol.h), as Istio's kube ConvertProtocol.
#include "control/registry/protocol.h"

#include <array>
#include <cctype>
#include <string>
#include <string_view>

namespace meshd::control::registry {
namespace {

using config::Protocol;

// Server-first protocols break sniffing (the client waits for the server to speak first), so
// Istio treats these ports as TCP when nothing else names a protocol.
constexpr std::array<uint32_t, 4> kServerFirstPorts = {25, 53, 3306, 27017};

bool startsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) {
    return false;
  }
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

} // namespace

Protocol kubePortProtocol(const config::KubeServicePort& port) {
  if (port.protocol == "UDP") {
    return Protocol::kUdp;
  }
  std::string_view name = port.name;
  if (!port.appProtocol.empty()) {
    // The Kubernetes-defined appProtocol values; a port name cannot contain '/'.
    if (port.appProtocol == "kubernetes.io/h2c") {
      return Protocol::kHttp2;
    }
    if (port.appProtocol == "kubernetes.io/ws") {
      return Protocol::kHttp;
    }
    if (port.appProtocol == "kubernetes.io/wss") {
      return Protocol::kHttps;
    }
    name = port.appProtocol;
  }
  // "grpc-web" contains the separator, so it is matched before the prefix is cut.
  if (startsWithIgnoreCase(name, "grpc-web")) {
    return Protocol::kGrpcWeb;
  }
  if (const size_t dash = name.find('-'); dash != std::string_view::npos) {
    name = name.substr(0, dash);
  }
  if (std::optional<Protocol> parsed = config::parseProtocol(name)) {
    return *parsed;
  }
  for (uint32_t serverFirst : kServerFirstPorts) {
    if (port.port == serverFirst) {
      return Protocol::kTcp;
    }
  }
  return Protocol::kUnspecified;
}

} // namespace meshd::control::registry
