// Istio's TrafficPolicy and its parts (load balancing, connection pools, outlier detection,
// client TLS, locality), as used by DestinationRule (and, for connection pools, Sidecar).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control/config/common.h"
#include "control/config/json_reader.h"

namespace meshd::control::config {

struct LocalityLbSetting {
  struct Distribute {
    std::string from;
    std::map<std::string, uint32_t> to; // locality → weight (they add up to 100)
  };
  struct Failover {
    std::string from;
    std::string to;
  };
  std::vector<Distribute> distribute;
  std::vector<Failover> failover;
  std::vector<std::string> failoverPriority;
  std::optional<bool> enabled;
};

struct ConsistentHashLb {
  enum class Key { kHttpHeaderName, kHttpCookie, kUseSourceIp, kHttpQueryParameterName };
  enum class Algorithm { kDefault, kRingHash, kMaglev };
  Key key = Key::kUseSourceIp;
  std::string name; // header, cookie or query parameter name
  std::string cookiePath;
  std::optional<Duration> cookieTtl; // 0: a session cookie
  std::vector<std::pair<std::string, std::string>> cookieAttributes;
  Algorithm algorithm = Algorithm::kDefault;
  uint64_t minimumRingSize = 0; // ringHash (or the deprecated top-level field); 0 = default
  uint64_t maglevTableSize = 0; // 0 = default
};

struct LoadBalancerSettings {
  enum class Simple { kUnspecified, kLeastConn, kRandom, kPassthrough, kRoundRobin, kLeastRequest };
  struct Warmup {
    Duration duration{0};
    std::optional<double> minimumPercent;
    std::optional<double> aggression;
  };
  std::optional<Simple> simple;
  std::optional<ConsistentHashLb> consistentHash;
  std::optional<LocalityLbSetting> localityLbSetting;
  std::optional<Warmup> warmup; // warmupDurationSecs folds into warmup.duration
};

struct ConnectionPoolSettings {
  struct Tcp {
    std::optional<int32_t> maxConnections;
    std::optional<Duration> connectTimeout;
    struct Keepalive {
      std::optional<uint32_t> probes;
      std::optional<Duration> time;
      std::optional<Duration> interval;
    };
    std::optional<Keepalive> tcpKeepalive;
    std::optional<Duration> maxConnectionDuration;
    std::optional<Duration> idleTimeout;
  };
  struct Http {
    enum class H2UpgradePolicy { kDefault, kDoNotUpgrade, kUpgrade };
    std::optional<int32_t> http1MaxPendingRequests;
    std::optional<int32_t> http2MaxRequests;
    std::optional<int32_t> maxRequestsPerConnection;
    std::optional<int32_t> maxRetries;
    std::optional<Duration> idleTimeout;
    H2UpgradePolicy h2UpgradePolicy = H2UpgradePolicy::kDefault;
    bool useClientProtocol = false;
    std::optional<int32_t> maxConcurrentStreams;
    std::optional<Duration> http2KeepAliveInterval;
    std::optional<Duration> http2KeepAliveTimeout;
  };
  std::optional<Tcp> tcp;
  std::optional<Http> http;
};

struct OutlierDetection {
  std::optional<uint32_t> consecutive5xxErrors; // the deprecated consecutiveErrors folds in
  std::optional<uint32_t> consecutiveGatewayErrors;
  std::optional<uint32_t> consecutiveLocalOriginFailures;
  std::optional<bool> splitExternalLocalOriginErrors;
  std::optional<Duration> interval;
  std::optional<Duration> baseEjectionTime;
  std::optional<int32_t> maxEjectionPercent;
  std::optional<int32_t> minHealthPercent;
};

struct ClientTlsSettings {
  enum class Mode { kDisable, kSimple, kMutual, kIstioMutual };
  Mode mode = Mode::kDisable;
  std::string clientCertificate;
  std::string privateKey;
  std::string caCertificates;
  std::string credentialName;
  std::vector<std::string> subjectAltNames;
  std::string sni;
  std::optional<bool> insecureSkipVerify;
  std::string caCrl;
};

struct PortTrafficPolicy {
  uint32_t port = 0;
  std::optional<LoadBalancerSettings> loadBalancer;
  std::optional<ConnectionPoolSettings> connectionPool;
  std::optional<OutlierDetection> outlierDetection;
  std::optional<ClientTlsSettings> tls;
};

struct TrafficPolicy {
  struct Tunnel {
    std::string protocol = "CONNECT"; // CONNECT or POST
    std::string targetHost;
    uint32_t targetPort = 0;
  };
  enum class ProxyProtocolVersion { kV1, kV2 };
  struct RetryBudget {
    std::optional<double> percent;
    std::optional<uint32_t> minRetryConcurrency;
    std::optional<Duration> budgetInterval;
  };
  std::optional<LoadBalancerSettings> loadBalancer;
  std::optional<ConnectionPoolSettings> connectionPool;
  std::optional<OutlierDetection> outlierDetection;
  std::optional<ClientTlsSettings> tls;
  std::vector<PortTrafficPolicy> portLevelSettings;
  std::optional<Tunnel> tunnel;
  std::optional<ProxyProtocolVersion> proxyProtocol;
  std::optional<RetryBudget> retryBudget;
};

std::optional<TrafficPolicy> readTrafficPolicy(ReadContext& ctx, const nlohmann::json& value,
                                               const std::string& pointer);
std::optional<ConnectionPoolSettings>
readConnectionPool(ReadContext& ctx, const nlohmann::json& value, const std::string& pointer);

} // namespace meshd::control::config
