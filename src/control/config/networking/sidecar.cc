// Sidecar parsing and Istio's checks for listeners and egress hosts (sidecar.h).
#include "control/config/networking/sidecar.h"

#include <set>

#include "fmt/format.h"

namespace meshd::control::config {
namespace {

constexpr EnumName<CaptureMode> kCaptureModes[] = {
    {"DEFAULT", CaptureMode::kDefault},
    {"IPTABLES", CaptureMode::kIptables},
    {"NONE", CaptureMode::kNone},
};
constexpr EnumName<Sidecar::OutboundMode> kOutboundModes[] = {
    {"REGISTRY_ONLY", Sidecar::OutboundMode::kRegistryOnly},
    {"ALLOW_ANY", Sidecar::OutboundMode::kAllowAny},
};

std::optional<GatewayPort> readPort(ReadContext& ctx, const nlohmann::json& value,
                                    const std::string& pointer) {
  return readGatewayPort(ctx, value, pointer, PortOwner::kSidecar);
}

void checkBind(const MessageReader& reader, const std::string& bind) {
  if (!bind.empty() && !bind.starts_with("unix://") && !isIpAddress(bind)) {
    reader.error("bind", fmt::format("'{}' is not an IP address or unix:// socket", bind));
  }
}

void checkDefaultEndpoint(const MessageReader& reader, const std::string& endpoint) {
  if (endpoint.empty() || endpoint.starts_with("unix://")) {
    return;
  }
  const size_t colon = endpoint.rfind(':');
  const std::string host = colon == std::string::npos ? "" : endpoint.substr(0, colon);
  const std::string port = colon == std::string::npos ? "" : endpoint.substr(colon + 1);
  const bool hostOk =
      host.empty() || host == "127.0.0.1" || host == "0.0.0.0" || host == "[::1]" || host == "[::]";
  const bool portOk = !port.empty() && port.size() <= 5 &&
                      port.find_first_not_of("0123456789") == std::string::npos &&
                      std::stoi(port) >= 1 && std::stoi(port) <= 65535;
  if (!hostOk || !portOk) {
    reader.error("defaultEndpoint",
                 fmt::format("'{}' is not 127.0.0.1:PORT, 0.0.0.0:PORT, [::1]:PORT, [::]:PORT, "
                             ":PORT or unix:///path",
                             endpoint));
  }
}

// What Istio does not support in a sidecar's inbound TLS.
void checkIngressTls(const MessageReader& reader, const SidecarIngressListener& listener) {
  if (!listener.tls) {
    return;
  }
  const ServerTlsSettings& tls = *listener.tls;
  std::vector<std::string_view> unsupported;
  if (!tls.subjectAltNames.empty()) {
    unsupported.push_back("subjectAltNames");
  }
  if (tls.httpsRedirect) {
    unsupported.push_back("httpsRedirect");
  }
  if (!tls.credentialNames.empty()) {
    unsupported.push_back("credentialName(s)");
  }
  if (!tls.tlsCertificates.empty()) {
    unsupported.push_back("tlsCertificates");
  }
  for (std::string_view field : unsupported) {
    reader.error("tls", fmt::format("{} is not supported in sidecar ingress TLS", field));
  }
  if (tls.mode == ServerTlsSettings::Mode::kIstioMutual ||
      tls.mode == ServerTlsSettings::Mode::kAutoPassthrough) {
    reader.error("tls", "sidecar ingress TLS cannot use mode ISTIO_MUTUAL or AUTO_PASSTHROUGH");
  }
  if (!isTlsProtocol(listener.port.protocol)) {
    reader.error("tls", "TLS settings need an HTTPS or TLS port");
  }
}

std::optional<SidecarIngressListener> readIngress(ReadContext& ctx, const nlohmann::json& value,
                                                  const std::string& pointer) {
  const MessageReader reader(
      ctx, value, pointer,
      {"port", "bind", "captureMode", "defaultEndpoint", "tls", "connectionPool"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  SidecarIngressListener listener;
  if (reader.require("port")) {
    listener.port = reader.message("port", readPort).value_or(GatewayPort{});
  }
  listener.bind = reader.string("bind").value_or("");
  checkBind(reader, listener.bind);
  listener.captureMode =
      reader.enumeration<CaptureMode>("captureMode", kCaptureModes).value_or(CaptureMode::kDefault);
  listener.defaultEndpoint = reader.string("defaultEndpoint").value_or("");
  checkDefaultEndpoint(reader, listener.defaultEndpoint);
  listener.tls = reader.message("tls", readServerTls);
  checkIngressTls(reader, listener);
  listener.connectionPool = reader.message("connectionPool", readConnectionPool);
  return listener;
}

std::string checkEgressHost(std::string_view host) {
  const size_t slash = host.find('/');
  if (slash == std::string_view::npos) {
    return fmt::format("'{}' must be written as namespace/dnsName (\"*/\", \"./\" or \"~/\" for "
                       "any, this or no namespace)",
                       host);
  }
  const std::string_view ns = host.substr(0, slash);
  const std::string_view name = host.substr(slash + 1);
  if (ns != "*" && ns != "." && ns != "~" && !isDnsLabel(ns)) {
    return fmt::format("'{}': the namespace must be '*', '.', '~' or a namespace name", host);
  }
  return checkWildcardHost(name);
}

std::optional<SidecarEgressListener> readEgress(ReadContext& ctx, const nlohmann::json& value,
                                                const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"port", "bind", "captureMode", "hosts"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  SidecarEgressListener listener;
  listener.port = reader.message("port", readPort);
  listener.bind = reader.string("bind").value_or("");
  checkBind(reader, listener.bind);
  listener.captureMode =
      reader.enumeration<CaptureMode>("captureMode", kCaptureModes).value_or(CaptureMode::kDefault);
  if (reader.require("hosts")) {
    listener.hosts = readStrings(reader, "hosts", checkEgressHost);
    if (listener.hosts.empty()) {
      reader.error("hosts", "an egress listener needs at least one host");
    }
  }
  return listener;
}

void checkListeners(const MessageReader& spec, const Sidecar& sidecar) {
  std::set<uint32_t> ingressPorts;
  for (size_t i = 0; i < sidecar.ingress.size(); ++i) {
    if (!ingressPorts.insert(sidecar.ingress[i].port.number).second) {
      spec.context().error(fmt::format("{}/{}/port/number", spec.pointer("ingress"), i),
                           fmt::format("ingress port {} is used by an earlier listener",
                                       sidecar.ingress[i].port.number));
    }
  }
  std::set<uint32_t> egressPorts;
  for (size_t i = 0; i < sidecar.egress.size(); ++i) {
    const std::optional<GatewayPort>& port = sidecar.egress[i].port;
    if (!port && i + 1 != sidecar.egress.size()) {
      spec.context().error(fmt::format("{}/{}", spec.pointer("egress"), i),
                           "only the last egress listener may leave out the port");
    } else if (port && !egressPorts.insert(port->number).second) {
      spec.context().error(
          fmt::format("{}/{}/port/number", spec.pointer("egress"), i),
          fmt::format("egress port {} is used by an earlier listener", port->number));
    }
  }
}

} // namespace

std::optional<Sidecar> parseSidecar(const ConfigObject& object, std::vector<Diagnostic>& out) {
  return parseKind<Sidecar>(object, out, [&](ReadContext& ctx, Sidecar& sidecar) {
    const MessageReader spec = readSpec(ctx, {"workloadSelector", "ingress", "egress",
                                              "inboundConnectionPool", "outboundTrafficPolicy"});
    sidecar.workloadSelector = readSelector(spec, "workloadSelector", "labels");
    if (sidecar.workloadSelector && sidecar.workloadSelector->empty()) {
      spec.warning("workloadSelector", "workloadSelector has no labels: the Sidecar applies to "
                                       "every workload in the namespace");
    }
    if (!spec.has("ingress") && !spec.has("egress") && !spec.has("outboundTrafficPolicy") &&
        !spec.has("inboundConnectionPool")) {
      ctx.error("/spec", "a Sidecar needs at least one of 'ingress', 'egress', "
                         "'outboundTrafficPolicy' or 'inboundConnectionPool'");
    }
    sidecar.ingress = spec.list("ingress", readIngress);
    sidecar.egress = spec.list("egress", readEgress);
    checkListeners(spec, sidecar);
    sidecar.inboundConnectionPool = spec.message("inboundConnectionPool", readConnectionPool);
    spec.message("outboundTrafficPolicy", [&sidecar](ReadContext& inner, const nlohmann::json& json,
                                                     const std::string& at) {
      const MessageReader policy(inner, json, at, {"mode", "egressProxy"});
      sidecar.outboundMode = policy.enumeration<Sidecar::OutboundMode>("mode", kOutboundModes);
      sidecar.egressProxy = policy.message("egressProxy", readDestination);
      if (sidecar.egressProxy && sidecar.outboundMode != Sidecar::OutboundMode::kAllowAny) {
        policy.error("egressProxy", "egressProxy may only be set with mode ALLOW_ANY");
      }
      if (sidecar.egressProxy && sidecar.egressProxy->port == 0) {
        policy.error("egressProxy", "egressProxy needs a port");
      }
      return std::optional<bool>(true);
    });
  });
}

} // namespace meshd::control::config
