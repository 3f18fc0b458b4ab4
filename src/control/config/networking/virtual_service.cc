// VirtualService parsing: hosts, gateways, TLS and TCP routes, destinations (virtual_service.h).
#include "control/config/networking/virtual_service.h"

#include <algorithm>

#include "control/config/host_names.h"
#include "fmt/format.h"

namespace meshd::control::config {
namespace {

std::vector<std::string> readSubnets(const MessageReader& reader, std::string_view field) {
  return readStrings(reader, field, checkCidrOrIp);
}

std::optional<L4MatchAttributes> readL4Match(ReadContext& ctx, const nlohmann::json& value,
                                             const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"destinationSubnets", "port", "sourceSubnet", "sourceLabels",
                              "gateways", "sourceNamespace"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  L4MatchAttributes match;
  match.destinationSubnets = readSubnets(reader, "destinationSubnets");
  match.port = reader.port("port").value_or(0);
  match.sourceSubnet = reader.string("sourceSubnet").value_or("");
  if (!match.sourceSubnet.empty()) {
    if (std::string error = checkCidrOrIp(match.sourceSubnet); !error.empty()) {
      reader.error("sourceSubnet", std::move(error));
    }
  }
  match.sourceLabels = readLabels(reader, "sourceLabels");
  match.gateways = readStrings(reader, "gateways", checkGatewayName);
  match.sourceNamespace = reader.string("sourceNamespace").value_or("");
  return match;
}

std::optional<TlsMatchAttributes> readTlsMatch(ReadContext& ctx, const nlohmann::json& value,
                                               const std::string& pointer) {
  const MessageReader reader(
      ctx, value, pointer,
      {"sniHosts", "destinationSubnets", "port", "sourceLabels", "gateways", "sourceNamespace"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  TlsMatchAttributes match;
  if (reader.require("sniHosts")) {
    match.sniHosts = readStrings(reader, "sniHosts", checkWildcardHost);
    if (match.sniHosts.empty()) {
      reader.error("sniHosts", "at least one SNI host is required");
    }
  }
  match.destinationSubnets = readSubnets(reader, "destinationSubnets");
  match.port = reader.port("port").value_or(0);
  match.sourceLabels = readLabels(reader, "sourceLabels");
  match.gateways = readStrings(reader, "gateways", checkGatewayName);
  match.sourceNamespace = reader.string("sourceNamespace").value_or("");
  return match;
}

std::optional<RouteDestination> readL4Destination(ReadContext& ctx, const nlohmann::json& value,
                                                  const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"destination", "weight"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  RouteDestination destination;
  if (reader.require("destination")) {
    destination.destination =
        reader.message("destination", readDestination).value_or(Destination{});
  }
  destination.weight = static_cast<int32_t>(reader.integer("weight", 0, INT32_MAX).value_or(0));
  return destination;
}

std::vector<RouteDestination> readL4Route(const MessageReader& reader) {
  std::vector<RouteDestination> route;
  if (reader.require("route")) {
    route = reader.list("route", readL4Destination);
    int64_t total = 0;
    for (const RouteDestination& destination : route) {
      total += destination.weight;
    }
    if (route.empty()) {
      reader.error("route", "route must have at least one destination");
    } else if (route.size() > 1 && total == 0) {
      reader.error("route",
                   "total destination weight = 0 (give at least one destination a weight)");
    }
  }
  return route;
}

std::optional<TcpRoute> readTcpRoute(ReadContext& ctx, const nlohmann::json& value,
                                     const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"match", "route"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  TcpRoute route;
  route.match = reader.list("match", readL4Match);
  route.route = readL4Route(reader);
  return route;
}

std::optional<TlsRoute> readTlsRoute(ReadContext& ctx, const nlohmann::json& value,
                                     const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"match", "route"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  TlsRoute route;
  if (reader.require("match")) {
    route.match = reader.list("match", readTlsMatch);
    if (route.match.empty() && reader.ok()) {
      reader.error("match", "a TLS route needs at least one match");
    }
  }
  route.route = readL4Route(reader);
  return route;
}

// Every SNI host of a TLS route must be one the VirtualService is for (Istio rejects the rest).
void checkSniHosts(const MessageReader& spec, const VirtualService& vs) {
  for (size_t r = 0; r < vs.tls.size(); ++r) {
    for (size_t m = 0; m < vs.tls[r].match.size(); ++m) {
      const std::vector<std::string>& sni = vs.tls[r].match[m].sniHosts;
      for (size_t s = 0; s < sni.size(); ++s) {
        const bool covered = std::any_of(vs.hosts.begin(), vs.hosts.end(), [&](const auto& host) {
          return hostsOverlap(host, sni[s]);
        });
        if (!covered) {
          spec.context().error(
              fmt::format("{}/{}/match/{}/sniHosts/{}", spec.pointer("tls"), r, m, s),
              fmt::format("SNI host '{}' is not covered by any host of the VirtualService",
                          sni[s]));
        }
      }
    }
  }
}

// Routing on JWT claims ("@request.auth.claims.x" headers) needs the gateway's JWT filter.
void checkClaimRouting(const MessageReader& spec, const VirtualService& vs) {
  if (!vs.appliesToMesh()) {
    return;
  }
  for (size_t r = 0; r < vs.http.size(); ++r) {
    for (size_t m = 0; m < vs.http[r].match.size(); ++m) {
      const HttpMatchRequest& match = vs.http[r].match[m];
      for (const auto* headers : {&match.headers, &match.withoutHeaders}) {
        for (const auto& entry : *headers) {
          if (entry.first.starts_with("@request.auth.claims.")) {
            spec.context().error(
                fmt::format("{}/{}/match/{}/{}", spec.pointer("http"), r, m,
                            headers == &match.headers ? "headers" : "withoutHeaders"),
                fmt::format("routing on JWT claims ('{}') works only on gateways, and this "
                            "VirtualService applies to the mesh",
                            entry.first));
          }
        }
      }
    }
  }
}

void checkHosts(const MessageReader& spec, const VirtualService& vs) {
  for (size_t i = 0; i < vs.hosts.size(); ++i) {
    const std::string& host = vs.hosts[i];
    const std::string pointer = childPointer(spec.pointer("hosts"), std::to_string(i));
    if (host == "*" && vs.appliesToMesh()) {
      spec.context().error(pointer, "wildcard host '*' is not allowed for virtual services bound "
                                    "to the mesh gateway");
    } else if (std::string error = checkWildcardHost(host); !error.empty() && !isIpAddress(host)) {
      spec.context().error(pointer, std::move(error));
    } else {
      for (size_t j = 0; j < i; ++j) {
        if (hostsOverlap(vs.hosts[j], host)) {
          spec.context().error(pointer, fmt::format("duplicate hosts in the VirtualService: '{}' "
                                                    "and '{}'",
                                                    vs.hosts[j], host));
          break;
        }
      }
    }
  }
}

} // namespace

bool VirtualService::appliesToMesh() const {
  return gateways.empty() || std::find(gateways.begin(), gateways.end(), "mesh") != gateways.end();
}

std::string checkGatewayName(std::string_view name) {
  if (name == "mesh") {
    return "";
  }
  const size_t slash = name.find('/');
  if (slash != std::string_view::npos) {
    const std::string_view ns = name.substr(0, slash);
    const std::string_view gateway = name.substr(slash + 1);
    if (isDnsLabel(ns) && isDnsLabel(gateway)) {
      return "";
    }
  } else if (checkFqdn(name).empty()) {
    return ""; // "name" or the legacy "name.namespace.svc.cluster.local"
  }
  return fmt::format("'{}' is not a valid gateway reference (\"mesh\", \"name\" or "
                     "\"namespace/name\")",
                     name);
}

std::optional<Destination> readDestination(ReadContext& ctx, const nlohmann::json& value,
                                           const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"host", "subset", "port"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  Destination destination;
  if (reader.require("host")) {
    destination.host = reader.string("host").value_or("");
    if (destination.host == "*") {
      reader.error("host", "'*' is not a valid destination host");
    } else if (std::string error = checkWildcardHost(destination.host); !error.empty()) {
      reader.error("host", std::move(error));
    }
  }
  destination.subset = readDnsLabel(reader, "subset", "subset name", /*required=*/false);
  destination.port =
      reader
          .message("port",
                   [](ReadContext& inner, const nlohmann::json& json, const std::string& at) {
                     return MessageReader(inner, json, at, {"number"}).port("number");
                   })
          .value_or(0);
  return destination;
}

std::optional<VirtualService> parseVirtualService(const ConfigObject& object,
                                                  std::vector<Diagnostic>& out) {
  return parseKind<VirtualService>(object, out, [&](ReadContext& ctx, VirtualService& vs) {
    const MessageReader spec =
        readSpec(ctx, {"hosts", "gateways", "http", "tls", "tcp", "exportTo"});
    vs.hosts = spec.strings("hosts");
    vs.gateways = readStrings(spec, "gateways", checkGatewayName);
    for (size_t i = 0; i < vs.gateways.size(); ++i) {
      const std::string& name = vs.gateways[i];
      if (name.find('/') == std::string::npos && name.find('.') != std::string::npos) {
        ctx.warning(childPointer(spec.pointer("gateways"), std::to_string(i)),
                    fmt::format("'{}' uses the legacy gateway name format; prefer "
                                "namespace/name",
                                name));
      }
    }
    checkHosts(spec, vs);
    const bool delegate = vs.isDelegate();
    if (delegate) {
      // A VirtualService without hosts is a delegate: only reachable through http[].delegate.
      if (!vs.gateways.empty()) {
        spec.error("gateways",
                   "a delegate VirtualService (one without hosts) cannot have gateways");
      }
      for (std::string_view field : {"tls", "tcp"}) {
        if (spec.has(field)) {
          spec.error(field, fmt::format("a delegate VirtualService (one without hosts) can only "
                                        "have http routes, not {}",
                                        field));
        }
      }
    }
    vs.http = spec.list(
        "http", [delegate](ReadContext& inner, const nlohmann::json& json, const std::string& at) {
          return readHttpRoute(inner, json, at, delegate);
        });
    vs.tls = spec.list("tls", readTlsRoute);
    vs.tcp = spec.list("tcp", readTcpRoute);
    if (!spec.has("http") && !spec.has("tls") && !spec.has("tcp")) {
      ctx.error("/spec", "a VirtualService needs at least one of 'http', 'tls' or 'tcp'");
    }
    checkSniHosts(spec, vs);
    checkClaimRouting(spec, vs);
    vs.exportTo = readExportTo(spec);
  });
}

} // namespace meshd::control::config
