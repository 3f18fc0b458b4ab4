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
  const bool credentials = !tls.credentialNames.empty() || !tls.tlsCertificates.empty();
  const bool files =
      !tls.serverCertificate.empty() || !tls.privateKey.empty() || !tls.caCertificates.empty();
  if (tls.mode == Mode::kIstioMutual) {
    if (files || credentials || !tls.caCrl.empty()) {
      reader.error("mode", "ISTIO_MUTUAL TLS cannot have an associated private key, server "
                           "certificate, CA certificates or credentialName");
    }
    return;
  }
  if (tls.mode != Mode::kSimple && tls.mode != Mode::kMutual && tls.mode != Mode::kOptionalMutual) {
    return;
  }
  const std::string_view mode = tls.mode == Mode::kSimple   ? "SIMPLE"
                                : tls.mode == Mode::kMutual ? "MUTUAL"
                                                            : "OPTIONAL_MUTUAL";
  if (credentials) {
    if (files) {
      reader.error("credentialName", "cannot set serverCertificate, privateKey or "
                                     "caCertificates together with credentialName(s) or "
                                     "tlsCertificates");
    }
    return;
  }
  if (tls.serverCertificate.empty()) {
    reader.error("serverCertificate", fmt::format("{} TLS requires a server certificate", mode));
  }
  if (tls.privateKey.empty()) {
    reader.error("privateKey", fmt::format("{} TLS requires a private key", mode));
  }
  if (tls.mode != Mode::kSimple && tls.caCertificates.empty()) {
    reader.error("caCertificates", fmt::format("{} TLS requires a client CA bundle", mode));
  }
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
                       return readGatewayPort(inner, json, at, /*nameRequired=*/true);
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
  const bool tlsProtocol =
      server.port.protocol == Protocol::kHttps || server.port.protocol == Protocol::kTls;
  if (tlsProtocol && !server.tls) {
    reader.error("tls", fmt::format("a server on a {} port must have TLS settings",
                                    protocolName(server.port.protocol)));
  } else if (!tlsProtocol && server.tls && !server.tls->httpsRedirect &&
             (server.port.protocol == Protocol::kHttp || server.port.protocol == Protocol::kHttp2 ||
              server.port.protocol == Protocol::kGrpc)) {
    reader.error("tls", "a server on a plain-text HTTP port cannot have TLS settings (other than "
                        "httpsRedirect)");
  }
  server.defaultEndpoint = reader.string("defaultEndpoint").value_or("");
  server.name = reader.string("name").value_or("");
  return server;
}

} // namespace

std::pair<std::string, std::string> splitNamespacedHost(const std::string& host) {
  const size_t slash = host.find('/');
  if (slash == std::string::npos) {
    return {"", host};
  }
  return {host.substr(0, slash), host.substr(slash + 1)};
}

std::optional<GatewayPort> readGatewayPort(ReadContext& ctx, const nlohmann::json& value,
                                           const std::string& pointer, bool nameRequired) {
  const MessageReader reader(ctx, value, pointer, {"number", "protocol", "name", "targetPort"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  GatewayPort port;
  if (reader.require("number")) {
    port.number = reader.port("number").value_or(0);
  }
  if (nameRequired) {
    reader.require("protocol");
    reader.require("name");
  }
  port.protocol = readProtocol(reader, "protocol").value_or(Protocol::kUnspecified);
  port.name = reader.string("name").value_or("");
  reader.deprecated("targetPort");
  port.targetPort = reader.port("targetPort").value_or(0);
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
  if (tls.credentialNames.size() > 2) {
    reader.error("credentialNames", "at most two credentialNames (one RSA, one ECDSA) may be set");
  }
  tls.caCertCredentialName = reader.string("caCertCredentialName").value_or("");
  tls.tlsCertificates = reader.list("tlsCertificates", readCertificate);
  if (tls.tlsCertificates.size() > 2) {
    reader.error("tlsCertificates", "at most two tlsCertificates (one RSA, one ECDSA) may be set");
  }
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
    }
  });
}

} // namespace meshd::control::config
