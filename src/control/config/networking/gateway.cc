// Gateway parsing and Istio's checks for servers, hosts and TLS (gateway.h).
#include "control/config/networking/gateway.h"

#include <set>

#include "fmt/format.h"

namespace meshd::control::config {
namespace {

using Mode = ServerTlsSettings::Mode;
using Version = ServerTlsSettings::Version;

constexpr EnumName<Mode> kModes[] = {
    {"PASSTHROUGH", Mode::kPassthrough},
    {"SIMPLE", Mode::kSimple},
    {"MUTUAL", Mode::kMutual},
    {"AUTO_PASSTHROUGH", Mode::kAutoPassthrough},
    {"ISTIO_MUTUAL", Mode::kIstioMutual},
    {"OPTIONAL_MUTUAL", Mode::kOptionalMutual},
};
constexpr EnumName<Version> kVersions[] = {
    {"TLS_AUTO", Version::kAuto}, {"TLSV1_0", Version::kV1_0}, {"TLSV1_1", Version::kV1_1},
    {"TLSV1_2", Version::kV1_2},  {"TLSV1_3", Version::kV1_3},
};

std::optional<ServerTlsSettings::Certificate>
readCertificate(ReadContext& ctx, const nlohmann::json& value, const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"serverCertificate", "privateKey", "caCertificates"});
  return ServerTlsSettings::Certificate{reader.string("serverCertificate").value_or(""),
                                        reader.string("privateKey").value_or(""),
                                        reader.string("caCertificates").value_or("")};
}

// What each mode needs and forbids, as Istio's validateTLSOptions says.
void checkTlsMode(const MessageReader& reader, const ServerTlsSettings& tls) {
  if ((tls.minProtocolVersion == Version::kV1_0 || tls.minProtocolVersion == Version::kV1_1) &&
      tls.cipherSuites.empty()) {
    reader.warning("minProtocolVersion", "TLS versions below TLSV1_2 need cipherSuites that "
                                         "support them (the default suites do not)");
  }
  const bool named = !tls.credentialNames.empty(); // credentialName or credentialNames
  const bool files =
      !tls.serverCertificate.empty() || !tls.privateKey.empty() || !tls.caCertificates.empty();
  if (tls.mode == Mode::kIstioMutual) {
    if (files || named || !tls.tlsCertificates.empty()) {
      reader.error("mode", "ISTIO_MUTUAL TLS uses the mesh's certificates and cannot have "
                           "serverCertificate, privateKey, caCertificates, tlsCertificates or "
                           "credential names");
    }
    return;
  }
  if (tls.mode == Mode::kPassthrough || tls.mode == Mode::kAutoPassthrough) {
    if (files || named || !tls.tlsCertificates.empty() || !tls.caCrl.empty()) {
      reader.warning("mode", "PASSTHROUGH modes do not use certificates; they are ignored");
    }
    return;
  }
  if (!tls.serverCertificate.empty() && !tls.privateKey.empty() &&
      (named || !tls.tlsCertificates.empty())) {
    reader.error("serverCertificate", "only one of credentialName, credentialNames, "
                                      "serverCertificate/privateKey and tlsCertificates may be "
                                      "set");
  }
  if (!tls.caCrl.empty() && reader.has("credentialName")) {
    reader.error("caCrl", "caCrl cannot be used with credentialName (put the CRL in the "
                          "credential)");
  } else if (!tls.caCrl.empty() && tls.mode == Mode::kSimple) {
    reader.error("caCrl", "caCrl is not supported with SIMPLE TLS");
  }
  if (named) {
    return; // the certificates (and CA bundle) come from the named credentials
  }
  const std::string_view prefix = tls.mode == Mode::kSimple ? "SIMPLE TLS" : "MUTUAL TLS";
  if (tls.mode != Mode::kSimple && tls.caCertificates.empty()) {
    reader.error("caCertificates", fmt::format("{} requires a client CA bundle", prefix));
  }
  if (tls.tlsCertificates.size() > 2) {
    reader.warning("tlsCertificates",
                   fmt::format("{} can use at most 2 server certificates", prefix));
  }
  auto requireCertificate = [&](const std::string& pointer,
                                const ServerTlsSettings::Certificate& certificate) {
    if (certificate.serverCertificate.empty()) {
      reader.context().error(childPointer(pointer, "serverCertificate"),
                             fmt::format("{} requires a server certificate", prefix));
    }
    if (certificate.privateKey.empty()) {
      reader.context().error(childPointer(pointer, "privateKey"),
                             fmt::format("{} requires a private key", prefix));
    }
  };
  if (tls.tlsCertificates.empty()) {
    requireCertificate(reader.pointer(), {tls.serverCertificate, tls.privateKey, ""});
  }
  for (size_t i = 0; i < tls.tlsCertificates.size(); ++i) {
    requireCertificate(childPointer(reader.pointer("tlsCertificates"), std::to_string(i)),
                       tls.tlsCertificates[i]);
  }
}

bool isHttpProtocol(Protocol protocol) {
  return protocol == Protocol::kHttp || protocol == Protocol::kHttp2 ||
         protocol == Protocol::kGrpc || protocol == Protocol::kGrpcWeb;
}

std::optional<GatewayServer> readServer(ReadContext& ctx, const nlohmann::json& value,
                                        const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"port", "bind", "hosts", "tls", "defaultEndpoint", "name"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  GatewayServer server;
  if (reader.require("port")) {
    server.port =
        reader
            .message("port",
                     [](ReadContext& inner, const nlohmann::json& json, const std::string& at) {
                       return readGatewayPort(inner, json, at, PortOwner::kGateway);
                     })
            .value_or(GatewayPort{});
  }
  server.bind = reader.string("bind").value_or("");
  if (!server.bind.empty() && !server.bind.starts_with("unix://") && !isIpAddress(server.bind)) {
    reader.error("bind", fmt::format("'{}' is not an IP address or unix:// socket", server.bind));
  }
  if (reader.require("hosts")) {
    server.hosts = readStrings(reader, "hosts", [](std::string_view host) -> std::string {
      auto [ns, name] = splitNamespacedHost(std::string(host));
      if (!ns.empty() && ns != "*" && ns != "." && !isDnsLabel(ns)) {
        return fmt::format("'{}': the namespace must be '*', '.' or a namespace name", host);
      }
      return checkWildcardHost(name);
    });
    if (server.hosts.empty()) {
      reader.error("hosts", "a server needs at least one host");
    }
  }
  server.tls = reader.message("tls", readServerTls);
  checkServerTls(reader, server);
  server.defaultEndpoint = reader.string("defaultEndpoint").value_or("");
  server.name = reader.string("name").value_or("");
  return server;
}

} // namespace

bool isTlsProtocol(Protocol protocol) {
  return protocol == Protocol::kHttps || protocol == Protocol::kTls;
}

void checkServerTls(const MessageReader& reader, const GatewayServer& server) {
  const Protocol protocol = server.port.protocol;
  if (isTlsProtocol(protocol) && !server.tls) {
    reader.error(
        "tls", fmt::format("a server on a {} port must have TLS settings", protocolName(protocol)));
  }
  if (!server.tls || isTlsProtocol(protocol) || protocol == Protocol::kUnspecified) {
    return;
  }
  const ServerTlsSettings& tls = *server.tls;
  const bool passthrough = tls.mode == ServerTlsSettings::Mode::kPassthrough ||
                           tls.mode == ServerTlsSettings::Mode::kAutoPassthrough;
  if (!isHttpProtocol(protocol)) {
    reader.error("tls", "a server on a port that is not HTTPS or TLS cannot have TLS settings");
  } else if (!passthrough || !tls.caCertificates.empty() || !tls.privateKey.empty() ||
             !tls.serverCertificate.empty()) {
    reader.error("tls", "a server on a plain-text HTTP port cannot have TLS settings (other than "
                        "httpsRedirect)");
  }
}

std::pair<std::string, std::string> splitNamespacedHost(const std::string& host) {
  const size_t slash = host.find('/');
  if (slash == std::string::npos) {
    return {"", host};
  }
  return {host.substr(0, slash), host.substr(slash + 1)};
}

std::optional<GatewayPort> readGatewayPort(ReadContext& ctx, const nlohmann::json& value,
                                           const std::string& pointer, PortOwner owner) {
  const MessageReader reader(ctx, value, pointer, {"number", "protocol", "name", "targetPort"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  GatewayPort port;
  if (reader.require("number")) {
    port.number = reader.port("number").value_or(0);
  }
  if (owner == PortOwner::kGateway) {
    reader.require("protocol");
    reader.require("name");
  }
  port.protocol = readProtocol(reader, "protocol").value_or(Protocol::kUnspecified);
  port.name = reader.string("name").value_or("");
  port.targetPort = reader.port("targetPort").value_or(0);
  if (port.targetPort != 0) {
    reader.error("targetPort", fmt::format("targetPort has no effect on {}s",
                                           owner == PortOwner::kGateway ? "Gateway" : "Sidecar"));
  }
  return port;
}

std::optional<ServerTlsSettings> readServerTls(ReadContext& ctx, const nlohmann::json& value,
                                               const std::string& pointer) {
  const MessageReader reader(
      ctx, value, pointer,
      {"httpsRedirect", "mode", "serverCertificate", "privateKey", "caCertificates", "caCrl",
       "credentialName", "credentialNames", "caCertCredentialName", "tlsCertificates",
       "subjectAltNames", "verifyCertificateSpki", "verifyCertificateHash", "minProtocolVersion",
       "maxProtocolVersion", "cipherSuites", "insecureSkipVerify"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  ServerTlsSettings tls;
  tls.httpsRedirect = reader.boolean("httpsRedirect").value_or(false);
  tls.mode = reader.enumeration<Mode>("mode", kModes).value_or(Mode::kPassthrough);
  tls.serverCertificate = reader.string("serverCertificate").value_or("");
  tls.privateKey = reader.string("privateKey").value_or("");
  tls.caCertificates = reader.string("caCertificates").value_or("");
  tls.caCrl = reader.string("caCrl").value_or("");
  reader.oneOf({"credentialName", "credentialNames", "tlsCertificates"});
  if (std::optional<std::string> name = reader.nonEmpty("credentialName")) {
    tls.credentialNames.push_back(*name);
  }
  for (std::string& name : reader.strings("credentialNames")) {
    tls.credentialNames.push_back(std::move(name));
  }
  tls.caCertCredentialName = reader.string("caCertCredentialName").value_or("");
  tls.tlsCertificates = reader.list("tlsCertificates", readCertificate);
  tls.subjectAltNames = reader.strings("subjectAltNames");
  tls.verifyCertificateSpki = reader.strings("verifyCertificateSpki");
  tls.verifyCertificateHash = reader.strings("verifyCertificateHash");
  tls.minProtocolVersion =
      reader.enumeration<Version>("minProtocolVersion", kVersions).value_or(Version::kAuto);
  tls.maxProtocolVersion =
      reader.enumeration<Version>("maxProtocolVersion", kVersions).value_or(Version::kAuto);
  if (tls.minProtocolVersion != Version::kAuto && tls.maxProtocolVersion != Version::kAuto &&
      tls.minProtocolVersion > tls.maxProtocolVersion) {
    reader.error("maxProtocolVersion", "maxProtocolVersion must not be lower than "
                                       "minProtocolVersion");
  }
  tls.cipherSuites = reader.strings("cipherSuites");
  tls.insecureSkipVerify = reader.boolean("insecureSkipVerify");
  checkTlsMode(reader, tls);
  return tls;
}

std::optional<Gateway> parseGateway(const ConfigObject& object, std::vector<Diagnostic>& out) {
  return parseKind<Gateway>(object, out, [&](ReadContext& ctx, Gateway& gateway) {
    const MessageReader spec = readSpec(ctx, {"servers", "selector"});
    gateway.selector = readLabels(spec, "selector");
    if (spec.require("servers")) {
      gateway.servers = spec.list("servers", readServer);
      if (gateway.servers.empty() && spec.ok()) {
        spec.error("servers", "a Gateway needs at least one server");
      }
    }
    std::set<std::string> portNames;
    for (size_t i = 0; i < gateway.servers.size(); ++i) {
      const std::string& name = gateway.servers[i].port.name;
      if (!name.empty() && !portNames.insert(name).second) {
        ctx.error(fmt::format("{}/{}/port/name", spec.pointer("servers"), i),
                  fmt::format("port names in servers must be unique: duplicate name '{}'", name));
      }
      const GatewayServer& server = gateway.servers[i];
      if (server.tls && server.tls->httpsRedirect && !isHttpProtocol(server.port.protocol)) {
        ctx.warning(fmt::format("{}/{}/tls/httpsRedirect", spec.pointer("servers"), i),
                    "httpsRedirect should only be used with HTTP servers");
      }
    }
  });
}

} // namespace meshd::control::config
