// ServiceEntry parsing and Istio's checks for it (service_entry.h).
#include "control/config/networking/service_entry.h"

#include <algorithm>
#include <set>

#include "fmt/format.h"

namespace meshd::control::config {
namespace {

constexpr EnumName<ServiceEntry::Location> kLocations[] = {
    {"MESH_EXTERNAL", ServiceEntry::Location::kMeshExternal},
    {"MESH_INTERNAL", ServiceEntry::Location::kMeshInternal},
};
constexpr EnumName<ServiceEntry::Resolution> kResolutions[] = {
    {"NONE", ServiceEntry::Resolution::kNone},
    {"STATIC", ServiceEntry::Resolution::kStatic},
    {"DNS", ServiceEntry::Resolution::kDns},
    {"DNS_ROUND_ROBIN", ServiceEntry::Resolution::kDnsRoundRobin},
    {"DYNAMIC_DNS", ServiceEntry::Resolution::kDynamicDns},
};

std::optional<ServiceEntryPort> readPort(ReadContext& ctx, const nlohmann::json& value,
                                         const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"number", "protocol", "name", "targetPort"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  ServiceEntryPort port;
  if (reader.require("number")) {
    port.number = reader.port("number").value_or(0);
  }
  port.protocol = readProtocol(reader, "protocol").value_or(Protocol::kUnspecified);
  port.name = readDnsLabel(reader, "name", "port name", /*required=*/true);
  port.targetPort = reader.port("targetPort").value_or(0);
  return port;
}

std::optional<WorkloadEntry> readEndpoint(ReadContext& ctx, const nlohmann::json& value,
                                          const std::string& pointer) {
  return readWorkloadEntry(ctx, value, pointer, WorkloadEntryUse::kServiceEntryEndpoint);
}

void checkPorts(const MessageReader& spec, const ServiceEntry& entry) {
  std::set<std::string> names;
  std::set<uint32_t> numbers;
  for (size_t i = 0; i < entry.ports.size(); ++i) {
    const std::string pointer = childPointer(spec.pointer("ports"), std::to_string(i));
    if (!names.insert(entry.ports[i].name).second) {
      spec.context().error(childPointer(pointer, "name"),
                           fmt::format("port name '{}' is already defined", entry.ports[i].name));
    }
    if (!numbers.insert(entry.ports[i].number).second) {
      spec.context().error(childPointer(pointer, "number"),
                           fmt::format("port {} is already defined", entry.ports[i].number));
    }
  }
}

// What an endpoint may be depends on the resolution, as in Istio's ValidateServiceEntry.
void checkEndpoints(const MessageReader& spec, const ServiceEntry& entry) {
  using Resolution = ServiceEntry::Resolution;
  const bool dns = entry.resolution == Resolution::kDns ||
                   entry.resolution == Resolution::kDnsRoundRobin ||
                   entry.resolution == Resolution::kDynamicDns;
  if (entry.resolution == Resolution::kNone && !entry.endpoints.empty()) {
    spec.error("endpoints", "endpoints are not allowed with resolution NONE");
  }
  if (entry.resolution == Resolution::kStatic && entry.endpoints.empty() &&
      !entry.workloadSelector) {
    spec.error("endpoints", "endpoints or a workloadSelector are required with resolution STATIC");
  }
  if (dns && entry.endpoints.empty()) {
    for (size_t i = 0; i < entry.hosts.size(); ++i) {
      if (entry.hosts[i].starts_with("*")) {
        spec.context().error(
            childPointer(spec.pointer("hosts"), std::to_string(i)),
            fmt::format("wildcard host '{}' needs endpoints with DNS resolution", entry.hosts[i]));
      }
    }
  }
  if (entry.resolution == Resolution::kDynamicDns) {
    spec.error("resolution", "resolution DYNAMIC_DNS is not supported");
  }
  if (entry.resolution == Resolution::kNone && entry.workloadSelector) {
    spec.warning("workloadSelector", "workloadSelector has no effect with resolution NONE");
  }
  const bool cidr =
      std::any_of(entry.addresses.begin(), entry.addresses.end(),
                  [](const std::string& a) { return a.find('/') != std::string::npos; });
  if (cidr && entry.resolution != Resolution::kNone && entry.resolution != Resolution::kStatic) {
    spec.error("addresses", "CIDR addresses are allowed only with resolution NONE or STATIC");
  }
  // With several hosts on one address, only HTTP (Host) and TLS (SNI) tell them apart.
  if (entry.resolution != Resolution::kNone && entry.hosts.size() > 1) {
    for (size_t i = 0; i < entry.ports.size(); ++i) {
      const Protocol protocol = entry.ports[i].protocol;
      const bool distinguishes = protocol == Protocol::kHttp || protocol == Protocol::kHttp2 ||
                                 protocol == Protocol::kGrpc || protocol == Protocol::kGrpcWeb ||
                                 protocol == Protocol::kHttps || protocol == Protocol::kTls;
      if (!distinguishes) {
        spec.context().error(
            childPointer(childPointer(spec.pointer("ports"), std::to_string(i)), "protocol"),
            "several hosts need HTTP or TLS ports (a plain TCP port cannot tell "
            "the hosts apart)");
        break;
      }
    }
  }
  if (entry.resolution == Resolution::kDnsRoundRobin && entry.endpoints.size() > 1) {
    spec.error("endpoints", "at most one endpoint is allowed with resolution DNS_ROUND_ROBIN");
  }
  for (size_t i = 0; i < entry.endpoints.size(); ++i) {
    const WorkloadEntry& endpoint = entry.endpoints[i];
    const std::string pointer = childPointer(spec.pointer("endpoints"), std::to_string(i));
    const std::string addressPointer = childPointer(pointer, "address");
    const bool unixSocket = endpoint.address.starts_with("unix:///");
    if (unixSocket) {
      spec.context().warning(addressPointer, kUnixEndpointWarning);
    }
    if (endpoint.address.empty() && endpoint.network.empty()) {
      spec.context().error(addressPointer, "address is required (unless network is set)");
    } else if (entry.resolution == Resolution::kStatic && !endpoint.address.empty() &&
               !unixSocket && !isIpAddress(endpoint.address)) {
      spec.context().error(addressPointer,
                           fmt::format("'{}' is not an IP address or unix:///path (resolution "
                                       "STATIC takes addresses, not host names)",
                                       endpoint.address));
    } else if (dns && !endpoint.address.empty() && !isIpAddress(endpoint.address) &&
               !checkFqdn(endpoint.address).empty()) {
      spec.context().error(addressPointer,
                           fmt::format("'{}' is not an IP address or host name", endpoint.address));
    }
    for (const auto& portEntry : endpoint.ports) {
      const std::string& name = portEntry.first;
      const bool known =
          std::any_of(entry.ports.begin(), entry.ports.end(),
                      [&](const ServiceEntryPort& port) { return port.name == name; });
      if (!known) {
        spec.context().error(
            childPointer(childPointer(pointer, "ports"), name),
            fmt::format("endpoint port '{}' is not a port of the service entry", name));
      }
    }
  }
}

} // namespace

std::optional<ServiceEntry> parseServiceEntry(const ConfigObject& object,
                                              std::vector<Diagnostic>& out) {
  return parseKind<ServiceEntry>(object, out, [&](ReadContext& ctx, ServiceEntry& entry) {
    const MessageReader spec =
        readSpec(ctx, {"hosts", "addresses", "ports", "location", "resolution", "endpoints",
                       "workloadSelector", "exportTo", "subjectAltNames"});
    if (spec.require("hosts")) {
      entry.hosts = readStrings(spec, "hosts", checkWildcardHost);
      if (entry.hosts.empty()) {
        spec.error("hosts", "at least one host is required");
      }
      for (size_t i = 0; i < entry.hosts.size(); ++i) {
        if (entry.hosts[i] == "*") {
          ctx.error(childPointer(spec.pointer("hosts"), std::to_string(i)),
                    "'*' is not allowed as a service entry host");
        }
      }
    }
    entry.addresses = spec.strings("addresses");
    for (size_t i = 0; i < entry.addresses.size(); ++i) {
      if (std::string error = checkCidrOrIp(entry.addresses[i]); !error.empty()) {
        ctx.error(childPointer(spec.pointer("addresses"), std::to_string(i)), std::move(error));
      }
    }
    entry.ports = spec.list("ports", readPort);
    checkPorts(spec, entry);
    entry.location = spec.enumeration<ServiceEntry::Location>("location", kLocations)
                         .value_or(ServiceEntry::Location::kMeshExternal);
    entry.resolution = spec.enumeration<ServiceEntry::Resolution>("resolution", kResolutions)
                           .value_or(ServiceEntry::Resolution::kNone);
    entry.workloadSelector = readSelector(spec, "workloadSelector", "labels");
    if (entry.workloadSelector && entry.workloadSelector->empty()) {
      spec.warning("workloadSelector", "workloadSelector has no labels: it selects every "
                                       "workload in the namespace");
    }
    entry.endpoints = spec.list("endpoints", readEndpoint);
    if (spec.has("endpoints") && spec.has("workloadSelector")) {
      spec.error("workloadSelector", "only one of 'endpoints' and 'workloadSelector' may be set");
    }
    checkEndpoints(spec, entry);
    entry.exportTo = readExportTo(spec, /*noneAllowed=*/true);
    entry.subjectAltNames = spec.strings("subjectAltNames");
  });
}

} // namespace meshd::control::config
