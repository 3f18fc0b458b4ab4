// TrafficPolicy parsing and Istio's checks for it (traffic_policy.h).
#include "control/config/networking/traffic_policy.h"

#include "fmt/format.h"

namespace meshd::control::config {
namespace {

constexpr EnumName<LoadBalancerSettings::Simple> kSimpleLb[] = {
    {"UNSPECIFIED", LoadBalancerSettings::Simple::kUnspecified},
    {"LEAST_CONN", LoadBalancerSettings::Simple::kLeastConn},
    {"RANDOM", LoadBalancerSettings::Simple::kRandom},
    {"PASSTHROUGH", LoadBalancerSettings::Simple::kPassthrough},
    {"ROUND_ROBIN", LoadBalancerSettings::Simple::kRoundRobin},
    {"LEAST_REQUEST", LoadBalancerSettings::Simple::kLeastRequest},
};
using H2Upgrade = ConnectionPoolSettings::Http::H2UpgradePolicy;
constexpr EnumName<H2Upgrade> kH2Upgrade[] = {
    {"DEFAULT", H2Upgrade::kDefault},
    {"DO_NOT_UPGRADE", H2Upgrade::kDoNotUpgrade},
    {"UPGRADE", H2Upgrade::kUpgrade},
};
constexpr EnumName<ClientTlsSettings::Mode> kClientTlsModes[] = {
    {"DISABLE", ClientTlsSettings::Mode::kDisable},
    {"SIMPLE", ClientTlsSettings::Mode::kSimple},
    {"MUTUAL", ClientTlsSettings::Mode::kMutual},
    {"ISTIO_MUTUAL", ClientTlsSettings::Mode::kIstioMutual},
};
constexpr EnumName<TrafficPolicy::ProxyProtocolVersion> kProxyProtocolVersions[] = {
    {"V1", TrafficPolicy::ProxyProtocolVersion::kV1},
    {"V2", TrafficPolicy::ProxyProtocolVersion::kV2},
};

std::optional<int32_t> count32(const MessageReader& reader, std::string_view field,
                               int32_t max = INT32_MAX) {
  std::optional<int64_t> value = reader.integer(field, 0, max);
  return value ? std::optional<int32_t>(static_cast<int32_t>(*value)) : std::nullopt;
}

std::optional<uint32_t> countU32(const MessageReader& reader, std::string_view field) {
  std::optional<int64_t> value = reader.integer(field, 0, UINT32_MAX);
  return value ? std::optional<uint32_t>(static_cast<uint32_t>(*value)) : std::nullopt;
}

std::optional<LocalityLbSetting> readLocality(ReadContext& ctx, const nlohmann::json& value,
                                              const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"distribute", "failover", "failoverPriority", "enabled"});
  LocalityLbSetting locality;
  locality.distribute = reader.list(
      "distribute",
      [](ReadContext& inner, const nlohmann::json& json,
         const std::string& at) -> std::optional<LocalityLbSetting::Distribute> {
        const MessageReader entry(inner, json, at, {"from", "to"});
        LocalityLbSetting::Distribute distribute;
        distribute.from = entry.string("from").value_or("");
        distribute.to =
            entry.map("to",
                      [](ReadContext& c, const nlohmann::json& weight,
                         const std::string& p) -> std::optional<uint32_t> {
                        if (!weight.is_number_integer() || weight.get<int64_t>() < 0 ||
                            weight.get<int64_t>() > 100) {
                          c.error(p, fmt::format("must be a weight between 0 and 100 (got {})",
                                                 jsonText(weight)));
                          return std::nullopt;
                        }
                        return static_cast<uint32_t>(weight.get<int64_t>());
                      });
        uint32_t total = 0;
        for (const auto& to : distribute.to) {
          total += to.second;
        }
        if (entry.has("to") && total != 100) {
          entry.error("to",
                      fmt::format("the weights must add up to 100 (they add up to {})", total));
        }
        return distribute;
      });
  locality.failover =
      reader.list("failover",
                  [](ReadContext& inner, const nlohmann::json& json,
                     const std::string& at) -> std::optional<LocalityLbSetting::Failover> {
                    const MessageReader entry(inner, json, at, {"from", "to"});
                    LocalityLbSetting::Failover failover{entry.string("from").value_or(""),
                                                         entry.string("to").value_or("")};
                    if (!failover.from.empty() && failover.from == failover.to) {
                      entry.error("to", "failover 'from' and 'to' must be different regions");
                    }
                    return failover;
                  });
  if (reader.has("distribute") && reader.has("failover")) {
    reader.error("failover", "'failover' and 'distribute' cannot be set together");
  }
  locality.failoverPriority = reader.strings("failoverPriority");
  locality.enabled = reader.boolean("enabled");
  return locality;
}

// Envoy's limit on the Maglev table size (it must be a prime below it).
constexpr int64_t kMaxMaglevTableSize = 5000010;

bool isPrime(uint64_t n) {
  if (n < 2) {
    return false;
  }
  for (uint64_t factor = 2; factor * factor <= n; ++factor) {
    if (n % factor == 0) {
      return false;
    }
  }
  return true;
}

std::optional<ConsistentHashLb> readConsistentHash(ReadContext& ctx, const nlohmann::json& value,
                                                   const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"httpHeaderName", "httpCookie", "useSourceIp",
                              "httpQueryParameterName", "ringHash", "maglev", "minimumRingSize"});
  ConsistentHashLb hash;
  const std::string_view key =
      reader.oneOf({"httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName"}, true);
  if (key == "httpHeaderName") {
    hash.key = ConsistentHashLb::Key::kHttpHeaderName;
    hash.name = reader.string(key).value_or("");
    if (std::string error = checkHeaderName(hash.name); !error.empty()) {
      reader.error(key, std::move(error));
    }
  } else if (key == "httpQueryParameterName") {
    hash.key = ConsistentHashLb::Key::kHttpQueryParameterName;
    hash.name = reader.nonEmpty(key).value_or("");
  } else if (key == "useSourceIp") {
    hash.key = ConsistentHashLb::Key::kUseSourceIp;
    reader.boolean(key);
  } else if (key == "httpCookie") {
    hash.key = ConsistentHashLb::Key::kHttpCookie;
    reader.message(
        key,
        [&hash](ReadContext& inner, const nlohmann::json& json,
                const std::string& at) -> std::optional<bool> {
          const MessageReader cookie(inner, json, at, {"name", "path", "ttl", "attributes"});
          if (cookie.require("name")) {
            hash.name = cookie.nonEmpty("name").value_or("");
          }
          hash.cookiePath = cookie.string("path").value_or("");
          hash.cookieTtl = cookie.duration("ttl", /*zeroAllowed=*/true);
          hash.cookieAttributes = cookie.list(
              "attributes",
              [](ReadContext& c, const nlohmann::json& attribute,
                 const std::string& p) -> std::optional<std::pair<std::string, std::string>> {
                const MessageReader pair(c, attribute, p, {"name", "value"});
                if (!pair.require("name")) {
                  return std::nullopt;
                }
                return std::make_pair(pair.string("name").value_or(""),
                                      pair.string("value").value_or(""));
              });
          return true;
        });
  }
  const std::string_view algorithm = reader.oneOf({"ringHash", "maglev"});
  reader.deprecated("minimumRingSize", "ringHash.minimumRingSize");
  if (reader.has("minimumRingSize") && !algorithm.empty()) {
    reader.error("minimumRingSize", "'minimumRingSize' cannot be combined with 'ringHash' or "
                                    "'maglev'");
  }
  hash.minimumRingSize =
      static_cast<uint64_t>(reader.integer("minimumRingSize", 0, INT64_MAX).value_or(0));
  if (algorithm == "ringHash") {
    hash.algorithm = ConsistentHashLb::Algorithm::kRingHash;
    hash.minimumRingSize =
        reader
            .message("ringHash",
                     [](ReadContext& inner, const nlohmann::json& json, const std::string& at) {
                       return MessageReader(inner, json, at, {"minimumRingSize"})
                           .integer("minimumRingSize", 0, INT64_MAX);
                     })
            .value_or(0);
  } else if (algorithm == "maglev") {
    hash.algorithm = ConsistentHashLb::Algorithm::kMaglev;
    hash.maglevTableSize =
        reader
            .message("maglev",
                     [](ReadContext& inner, const nlohmann::json& json, const std::string& at) {
                       const MessageReader maglev(inner, json, at, {"tableSize"});
                       maglev.require("tableSize");
                       const std::optional<int64_t> size =
                           maglev.integer("tableSize", 1, kMaxMaglevTableSize);
                       if (size && !isPrime(static_cast<uint64_t>(*size))) {
                         maglev.error("tableSize", fmt::format("{} is not a prime number (Maglev "
                                                               "needs a prime table size)",
                                                               *size));
                       }
                       return size;
                     })
            .value_or(0);
  }
  return hash;
}

std::optional<LoadBalancerSettings> readLoadBalancer(ReadContext& ctx, const nlohmann::json& value,
                                                     const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"simple", "consistentHash", "localityLbSetting", "zoneAwareLbSetting",
                              "warmupDurationSecs", "warmup"});
  LoadBalancerSettings lb;
  reader.oneOf({"simple", "consistentHash"});
  lb.simple = reader.enumeration<LoadBalancerSettings::Simple>("simple", kSimpleLb);
  if (lb.simple == LoadBalancerSettings::Simple::kLeastConn) {
    reader.warning("simple", "LEAST_CONN is deprecated; use LEAST_REQUEST");
  }
  lb.consistentHash = reader.message("consistentHash", readConsistentHash);
  lb.localityLbSetting = reader.message("localityLbSetting", readLocality);
  if (reader.has("zoneAwareLbSetting")) {
    reader.warning("zoneAwareLbSetting", "zoneAwareLbSetting is not supported by meshd and is "
                                         "ignored");
  }
  reader.oneOf({"warmupDurationSecs", "warmup"});
  if (std::optional<Duration> duration = reader.duration("warmupDurationSecs")) {
    lb.warmup = LoadBalancerSettings::Warmup{*duration, std::nullopt, std::nullopt};
  }
  if (reader.has("warmup")) {
    lb.warmup = reader.message(
        "warmup", [](ReadContext& inner, const nlohmann::json& json, const std::string& at) {
          const MessageReader warmup(inner, json, at, {"duration", "minimumPercent", "aggression"});
          LoadBalancerSettings::Warmup out;
          if (warmup.require("duration")) {
            out.duration = warmup.duration("duration").value_or(Duration(0));
          }
          out.minimumPercent = warmup.number("minimumPercent", 0, 100);
          out.aggression = warmup.number("aggression", 1, 1e9);
          return std::optional<LoadBalancerSettings::Warmup>(out);
        });
  }
  if (lb.warmup && lb.consistentHash) {
    reader.error(reader.has("warmup") ? "warmup" : "warmupDurationSecs",
                 "warmup works only with ROUND_ROBIN and LEAST_REQUEST load balancing");
  }
  return lb;
}

std::optional<OutlierDetection> readOutlier(ReadContext& ctx, const nlohmann::json& value,
                                            const std::string& pointer) {
  const MessageReader reader(
      ctx, value, pointer,
      {"consecutiveErrors", "splitExternalLocalOriginErrors", "consecutiveLocalOriginFailures",
       "consecutiveGatewayErrors", "consecutive5xxErrors", "interval", "baseEjectionTime",
       "maxEjectionPercent", "minHealthPercent", "outlierDetectionHttpErrorCodes"});
  OutlierDetection outlier;
  reader.deprecated("consecutiveErrors", "consecutive5xxErrors");
  reader.oneOf({"consecutiveErrors", "consecutive5xxErrors"});
  outlier.consecutive5xxErrors = countU32(reader, "consecutiveErrors");
  if (reader.has("consecutive5xxErrors")) {
    outlier.consecutive5xxErrors = countU32(reader, "consecutive5xxErrors");
  }
  outlier.consecutiveGatewayErrors = countU32(reader, "consecutiveGatewayErrors");
  outlier.consecutiveLocalOriginFailures = countU32(reader, "consecutiveLocalOriginFailures");
  outlier.splitExternalLocalOriginErrors = reader.boolean("splitExternalLocalOriginErrors");
  if (outlier.consecutiveLocalOriginFailures && !outlier.splitExternalLocalOriginErrors) {
    reader.error("consecutiveLocalOriginFailures",
                 "consecutiveLocalOriginFailures needs splitExternalLocalOriginErrors: true");
  }
  outlier.interval = reader.duration("interval");
  outlier.baseEjectionTime = reader.duration("baseEjectionTime");
  outlier.maxEjectionPercent = count32(reader, "maxEjectionPercent", 100);
  outlier.minHealthPercent = count32(reader, "minHealthPercent", 100);
  return outlier;
}

std::optional<ClientTlsSettings> readClientTls(ReadContext& ctx, const nlohmann::json& value,
                                               const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"mode", "clientCertificate", "privateKey", "caCertificates",
                              "credentialName", "subjectAltNames", "sni", "insecureSkipVerify",
                              "caCrl"});
  ClientTlsSettings tls;
  tls.mode = reader.enumeration<ClientTlsSettings::Mode>("mode", kClientTlsModes)
                 .value_or(ClientTlsSettings::Mode::kDisable);
  tls.clientCertificate = reader.string("clientCertificate").value_or("");
  tls.privateKey = reader.string("privateKey").value_or("");
  tls.caCertificates = reader.string("caCertificates").value_or("");
  tls.credentialName = reader.string("credentialName").value_or("");
  tls.subjectAltNames = reader.strings("subjectAltNames");
  tls.sni = reader.string("sni").value_or("");
  tls.insecureSkipVerify = reader.boolean("insecureSkipVerify");
  tls.caCrl = reader.string("caCrl").value_or("");
  using Mode = ClientTlsSettings::Mode;
  const bool files = !tls.clientCertificate.empty() || !tls.privateKey.empty() ||
                     !tls.caCertificates.empty() || !tls.caCrl.empty();
  if ((tls.mode == Mode::kSimple || tls.mode == Mode::kMutual) && !tls.credentialName.empty() &&
      files) {
    reader.error("credentialName", "cannot specify client certificates, private key, CA "
                                   "certificates or CA CRL when credentialName is set");
  }
  if (tls.mode == Mode::kMutual && tls.credentialName.empty()) {
    if (tls.clientCertificate.empty()) {
      reader.error("clientCertificate", "client certificate required for mutual tls");
    }
    if (tls.privateKey.empty()) {
      reader.error("privateKey", "private key required for mutual tls");
    }
  }
  if (tls.mode == Mode::kIstioMutual && (files || !tls.credentialName.empty())) {
    reader.error("mode", "ISTIO_MUTUAL uses the mesh's certificates: remove clientCertificate, "
                         "privateKey, caCertificates, caCrl and credentialName");
  }
  return tls;
}

std::optional<PortTrafficPolicy> readPortPolicy(ReadContext& ctx, const nlohmann::json& value,
                                                const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"port", "loadBalancer", "connectionPool", "outlierDetection", "tls"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  PortTrafficPolicy policy;
  if (reader.require("port")) {
    policy.port =
        reader
            .message("port",
                     [](ReadContext& inner, const nlohmann::json& json, const std::string& at) {
                       const MessageReader port(inner, json, at, {"number"});
                       port.require("number");
                       return port.port("number");
                     })
            .value_or(0);
  }
  policy.loadBalancer = reader.message("loadBalancer", readLoadBalancer);
  policy.connectionPool = reader.message("connectionPool", readConnectionPool);
  policy.outlierDetection = reader.message("outlierDetection", readOutlier);
  policy.tls = reader.message("tls", readClientTls);
  if (reader.ok() && !policy.loadBalancer && !policy.connectionPool && !policy.outlierDetection &&
      !policy.tls) {
    ctx.error(pointer, "a port traffic policy needs at least one of loadBalancer, "
                       "connectionPool, outlierDetection or tls");
  }
  return policy;
}

} // namespace

std::optional<ConnectionPoolSettings>
readConnectionPool(ReadContext& ctx, const nlohmann::json& value, const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"tcp", "http"});
  ConnectionPoolSettings pool;
  if (reader.ok() && !reader.has("tcp") && !reader.has("http")) {
    ctx.error(pointer, "a connection pool needs tcp or http settings");
  }
  pool.tcp = reader.message(
      "tcp", [](ReadContext& inner, const nlohmann::json& json, const std::string& at) {
        const MessageReader tcp(inner, json, at,
                                {"maxConnections", "connectTimeout", "tcpKeepalive",
                                 "maxConnectionDuration", "idleTimeout"});
        ConnectionPoolSettings::Tcp out;
        out.maxConnections = count32(tcp, "maxConnections");
        out.connectTimeout = tcp.duration("connectTimeout");
        out.tcpKeepalive = tcp.message(
            "tcpKeepalive", [](ReadContext& c, const nlohmann::json& j, const std::string& p) {
              const MessageReader keepalive(c, j, p, {"probes", "time", "interval"});
              return std::optional<ConnectionPoolSettings::Tcp::Keepalive>(
                  {countU32(keepalive, "probes"), keepalive.duration("time"),
                   keepalive.duration("interval")});
            });
        out.maxConnectionDuration = tcp.duration("maxConnectionDuration");
        out.idleTimeout = tcp.duration("idleTimeout", /*zeroAllowed=*/true); // 0s: no timeout
        return std::optional<ConnectionPoolSettings::Tcp>(out);
      });
  pool.http = reader.message("http", [](ReadContext& inner, const nlohmann::json& json,
                                        const std::string& at) {
    const MessageReader http(inner, json, at,
                             {"http1MaxPendingRequests", "http2MaxRequests",
                              "maxRequestsPerConnection", "maxRetries", "idleTimeout",
                              "h2UpgradePolicy", "useClientProtocol", "maxConcurrentStreams",
                              "http2KeepAlive"});
    ConnectionPoolSettings::Http out;
    out.http1MaxPendingRequests = count32(http, "http1MaxPendingRequests");
    out.http2MaxRequests = count32(http, "http2MaxRequests");
    out.maxRequestsPerConnection = count32(http, "maxRequestsPerConnection");
    out.maxRetries = count32(http, "maxRetries");
    out.idleTimeout = http.duration("idleTimeout");
    out.h2UpgradePolicy =
        http.enumeration<H2Upgrade>("h2UpgradePolicy", kH2Upgrade).value_or(H2Upgrade::kDefault);
    out.useClientProtocol = http.boolean("useClientProtocol").value_or(false);
    if (out.useClientProtocol && out.h2UpgradePolicy == H2Upgrade::kUpgrade) {
      http.error("useClientProtocol", "useClientProtocol cannot be true when h2UpgradePolicy is "
                                      "UPGRADE");
    }
    out.maxConcurrentStreams = count32(http, "maxConcurrentStreams");
    http.message("http2KeepAlive",
                 [&out](ReadContext& c, const nlohmann::json& j, const std::string& p) {
                   const MessageReader keepalive(c, j, p, {"interval", "timeout"});
                   out.http2KeepAliveInterval = keepalive.duration("interval");
                   out.http2KeepAliveTimeout = keepalive.duration("timeout");
                   return std::optional<bool>(true);
                 });
    return std::optional<ConnectionPoolSettings::Http>(out);
  });
  return pool;
}

std::optional<TrafficPolicy> readTrafficPolicy(ReadContext& ctx, const nlohmann::json& value,
                                               const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"loadBalancer", "connectionPool", "outlierDetection", "tls",
                              "portLevelSettings", "tunnel", "proxyProtocol", "retryBudget"});
  TrafficPolicy policy;
  policy.loadBalancer = reader.message("loadBalancer", readLoadBalancer);
  policy.connectionPool = reader.message("connectionPool", readConnectionPool);
  policy.outlierDetection = reader.message("outlierDetection", readOutlier);
  policy.tls = reader.message("tls", readClientTls);
  policy.portLevelSettings = reader.list("portLevelSettings", readPortPolicy);
  policy.tunnel = reader.message(
      "tunnel", [](ReadContext& inner, const nlohmann::json& json, const std::string& at) {
        const MessageReader tunnel(inner, json, at, {"protocol", "targetHost", "targetPort"});
        TrafficPolicy::Tunnel out;
        out.protocol = tunnel.string("protocol").value_or("CONNECT");
        if (out.protocol != "CONNECT" && out.protocol != "POST") {
          tunnel.error("protocol", fmt::format("'{}' is not CONNECT or POST", out.protocol));
        }
        if (tunnel.require("targetHost")) {
          out.targetHost = tunnel.string("targetHost").value_or("");
          if (!isIpAddress(out.targetHost) && !checkFqdn(out.targetHost).empty()) {
            tunnel.error("targetHost",
                         fmt::format("'{}' is not an IP address or host name", out.targetHost));
          }
        }
        if (tunnel.require("targetPort")) {
          out.targetPort = tunnel.port("targetPort").value_or(0);
        }
        return std::optional<TrafficPolicy::Tunnel>(out);
      });
  policy.proxyProtocol = reader.message(
      "proxyProtocol", [](ReadContext& inner, const nlohmann::json& json, const std::string& at) {
        return MessageReader(inner, json, at, {"version"})
            .enumeration<TrafficPolicy::ProxyProtocolVersion>("version", kProxyProtocolVersions);
      });
  policy.retryBudget = reader.message(
      "retryBudget", [](ReadContext& inner, const nlohmann::json& json, const std::string& at) {
        const MessageReader budget(inner, json, at,
                                   {"percent", "minRetryConcurrency", "budgetInterval"});
        TrafficPolicy::RetryBudget out;
        // A google.protobuf.DoubleValue in Istio's API: a bare number in YAML (not {value: N}).
        out.percent = budget.number("percent", 0, 100);
        out.minRetryConcurrency = countU32(budget, "minRetryConcurrency");
        out.budgetInterval = budget.duration("budgetInterval");
        return std::optional<TrafficPolicy::RetryBudget>(out);
      });
  return policy;
}

} // namespace meshd::control::config
