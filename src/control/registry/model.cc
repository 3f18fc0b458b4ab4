// Small helpers of the registry model (model.h).
#include "control/registry/model.h"

#include <algorithm>

namespace meshd::control::registry {

std::string_view resolutionName(Resolution resolution) {
  switch (resolution) {
  case Resolution::kClientSideLb: return "ClientSideLB";
  case Resolution::kDns: return "DNS";
  case Resolution::kDnsRoundRobin: return "DNSRoundRobin";
  case Resolution::kDynamicDns: return "DynamicDNS";
  case Resolution::kPassthrough: return "Passthrough";
  }
  return "";
}

const ServicePort* Service::port(uint32_t number) const {
  auto it = std::find_if(ports.begin(), ports.end(),
                         [&](const ServicePort& port) { return port.number == number; });
  return it == ports.end() ? nullptr : &*it;
}

const ServicePort* Service::portNamed(std::string_view name) const {
  auto it = std::find_if(ports.begin(), ports.end(),
                         [&](const ServicePort& port) { return port.name == name; });
  return it == ports.end() ? nullptr : &*it;
}

bool Service::visibleFrom(std::string_view from) const {
  return std::any_of(exportTo.begin(), exportTo.end(), [&](const std::string& target) {
    return target == "*" || target == from || (target == "." && from == ns);
  });
}

AddressKind addressKindOf(std::string_view address) {
  if (address.starts_with("unix://")) {
    return AddressKind::kUnixSocket;
  }
  return config::isIpAddress(address) ? AddressKind::kIp : AddressKind::kHostName;
}

} // namespace meshd::control::registry
