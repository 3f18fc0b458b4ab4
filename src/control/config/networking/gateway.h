// Istio Gateway: the ports, hosts and TLS settings a gateway proxy (selected by labels) serves;
// VirtualServices bind to it by name. ServerTlsSettings is shared with Sidecar ingress.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/config/common.h"
#include "control/config/config_object.h"
#include "control/config/diagnostic.h"
#include "control/config/json_reader.h"

namespace meshd::control::config {

struct ServerTlsSettings {
  enum class Mode {
    kPassthrough,
    kSimple,
    kMutual,
    kAutoPassthrough,
    kIstioMutual,
    kOptionalMutual
  };
  enum class Version { kAuto, kV1_0, kV1_1, kV1_2, kV1_3 };
  struct Certificate {
    std::string serverCertificate;
    std::string privateKey;
    std::string caCertificates;
  };
  bool httpsRedirect = false;
  Mode mode = Mode::kPassthrough;
  std::string serverCertificate;
  std::string privateKey;
  std::string caCertificates;
  std::string caCrl;
  std::vector<std::string> credentialNames; // credentialName folds in as the only entry
  std::string caCertCredentialName;
  std::vector<Certificate> tlsCertificates;
  std::vector<std::string> subjectAltNames;
  std::vector<std::string> verifyCertificateSpki;
  std::vector<std::string> verifyCertificateHash;
  Version minProtocolVersion = Version::kAuto;
  Version maxProtocolVersion = Version::kAuto;
  std::vector<std::string> cipherSuites;
  std::optional<bool> insecureSkipVerify;
};

struct GatewayPort {
  uint32_t number = 0;
  Protocol protocol = Protocol::kUnspecified;
  std::string name;
  uint32_t targetPort = 0; // deprecated
};

struct GatewayServer {
  GatewayPort port;
  std::string bind;
  std::vector<std::string> hosts; // "host" or "namespace/host" ("*/", "./" prefixes)
  std::optional<ServerTlsSettings> tls;
  std::string defaultEndpoint;
  std::string name;
};

struct Gateway {
  ObjectMeta meta;
  std::vector<GatewayServer> servers;
  Labels selector; // the gateway proxies it applies to
};

std::optional<Gateway> parseGateway(const ConfigObject& object, std::vector<Diagnostic>& out);

// Shared with Sidecar ingress.
std::optional<ServerTlsSettings> readServerTls(ReadContext& ctx, const nlohmann::json& value,
                                               const std::string& pointer);
// Port {number, protocol, name, targetPort}: a Gateway's needs protocol and name; neither may
// set the deprecated targetPort.
enum class PortOwner { kGateway, kSidecar };
std::optional<GatewayPort> readGatewayPort(ReadContext& ctx, const nlohmann::json& value,
                                           const std::string& pointer, PortOwner owner);
bool isTlsProtocol(Protocol protocol);
// A server's TLS settings fit its port's protocol (HTTPS/TLS need them; others may not have them
// except an HTTP port's httpsRedirect).
void checkServerTls(const MessageReader& reader, const GatewayServer& server);
// Splits "namespace/host" (namespace "" when absent) as Gateway and Sidecar hosts are written.
std::pair<std::string, std::string> splitNamespacedHost(const std::string& host);

} // namespace meshd::control::config
