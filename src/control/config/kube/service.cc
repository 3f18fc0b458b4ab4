// Kubernetes Service and Namespace parsing with the API server's own checks (kube/service.h).
#include "control/config/kube/service.h"

#include <set>

#include "fmt/format.h"

namespace meshd::control::config {
namespace {

constexpr EnumName<KubeService::Type> kServiceTypes[] = {
    {"ClusterIP", KubeService::Type::kClusterIP},
    {"NodePort", KubeService::Type::kNodePort},
    {"LoadBalancer", KubeService::Type::kLoadBalancer},
    {"ExternalName", KubeService::Type::kExternalName},
};

std::optional<KubeServicePort> readPort(ReadContext& ctx, const nlohmann::json& value,
                                        const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"name", "port", "targetPort", "protocol", "appProtocol", "nodePort"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  KubeServicePort port;
  port.name = readDnsLabel(reader, "name", "port name", /*required=*/false);
  if (reader.require("port")) {
    port.port = reader.port("port").value_or(0);
  }
  if (reader.has("targetPort")) {
    if (value["targetPort"].is_string()) {
      port.targetPortName = value["targetPort"].get<std::string>();
      if (port.targetPortName.size() > 15 || !isDnsLabel(port.targetPortName)) {
        reader.error("targetPort", fmt::format("'{}' is not a valid port name (a DNS label of "
                                               "at most 15 characters)",
                                               port.targetPortName));
      }
    } else {
      port.targetPort = reader.port("targetPort").value_or(0);
    }
  }
  if (reader.has("protocol")) {
    port.protocol = reader.string("protocol").value_or("TCP");
    if (port.protocol != "TCP" && port.protocol != "UDP" && port.protocol != "SCTP") {
      reader.error("protocol", fmt::format("'{}' is not one of TCP, UDP, SCTP", port.protocol));
    }
  }
  port.appProtocol = reader.string("appProtocol").value_or("");
  reader.port("nodePort");
  return port;
}

} // namespace

std::optional<KubeService> parseKubeService(const ConfigObject& object,
                                            std::vector<Diagnostic>& out) {
  return parseKind<KubeService>(object, out, [&](ReadContext& ctx, KubeService& service) {
    // Fields the mesh does not use are accepted so that `kubectl get -o yaml` output applies.
    const MessageReader spec = readSpec(ctx, {"ports",
                                              "selector",
                                              "type",
                                              "clusterIP",
                                              "clusterIPs",
                                              "externalName",
                                              "sessionAffinity",
                                              "sessionAffinityConfig",
                                              "externalTrafficPolicy",
                                              "internalTrafficPolicy",
                                              "ipFamilies",
                                              "ipFamilyPolicy",
                                              "publishNotReadyAddresses",
                                              "loadBalancerIP",
                                              "loadBalancerSourceRanges",
                                              "loadBalancerClass",
                                              "externalIPs",
                                              "allocateLoadBalancerNodePorts",
                                              "healthCheckNodePort",
                                              "trafficDistribution"});
    service.type = spec.enumeration<KubeService::Type>("type", kServiceTypes)
                       .value_or(KubeService::Type::kClusterIP);
    service.clusterIP = spec.string("clusterIP").value_or("");
    if (!service.clusterIP.empty() && service.clusterIP != "None" &&
        !isIpAddress(service.clusterIP)) {
      spec.error("clusterIP",
                 fmt::format("'{}' is not an IP address, \"None\" or empty", service.clusterIP));
    }
    service.externalName = spec.string("externalName").value_or("");
    if (service.type == KubeService::Type::kExternalName) {
      if (spec.require("externalName")) {
        if (std::string error = checkFqdn(service.externalName); !error.empty()) {
          spec.error("externalName", std::move(error));
        }
      }
    }
    service.selector = readLabels(spec, "selector");
    service.ports = spec.list("ports", readPort);
    std::set<std::string> names;
    std::set<std::pair<uint32_t, std::string>> numbers;
    for (size_t i = 0; i < service.ports.size(); ++i) {
      const KubeServicePort& port = service.ports[i];
      const std::string pointer = childPointer(spec.pointer("ports"), std::to_string(i));
      if (port.name.empty() && service.ports.size() > 1) {
        ctx.error(childPointer(pointer, "name"),
                  "a port name is required when a Service has more than one port");
      } else if (!port.name.empty() && !names.insert(port.name).second) {
        ctx.error(childPointer(pointer, "name"),
                  fmt::format("duplicate port name '{}'", port.name));
      }
      if (port.port != 0 && !numbers.emplace(port.port, port.protocol).second) {
        ctx.error(childPointer(pointer, "port"),
                  fmt::format("duplicate port {}/{}", port.port, port.protocol));
      }
    }
  });
}

std::optional<KubeNamespace> parseKubeNamespace(const ConfigObject& object,
                                                std::vector<Diagnostic>& out) {
  return parseKind<KubeNamespace>(object, out, [](ReadContext& ctx, KubeNamespace&) {
    readSpec(ctx, {"finalizers"}).strings("finalizers");
  });
}

} // namespace meshd::control::config
