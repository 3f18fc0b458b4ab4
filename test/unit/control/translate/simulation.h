// A route simulation harness: Istio config and services as YAML, a proxy (sidecar, gateway or
// proxyless gRPC client) and a request; buildRoutes() generates the RouteConfigurations and
// mesh-proxy's own RouteTable (after its supported-fields check) picks the route, so every case
// also proves that mesh-proxy accepts what meshd generates.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "control/model/mesh_snapshot.h"
#include "control/translate/proxy_context.h"
#include "envoy/config/route/v3/route.pb.h"
#include "proxy/router/route_table.h"

namespace meshd::control::translate::testing {

ProxyContext sidecarProxy(std::string ns, config::Labels labels = {});
ProxyContext gatewayProxy(config::Labels labels, std::string ns = "istio-system");
ProxyContext proxylessGrpcProxy(std::string ns);

struct Request {
  std::string authority;
  uint32_t port = 0; // picks the route configuration: "9080" (sidecars) or "http.9080" (gateways)
  std::string path = "/";
  std::string method = "GET";
  std::string scheme = "http";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string routeConfig; // an explicit route configuration name instead of `port`
};

struct Outcome {
  std::string error;       // no such route configuration, or mesh-proxy refused it
  std::string unsupported; // why mesh-proxy refused the config before the harness stripped the
                           // fields it lacks (see stripUnsupported); "" when it accepted it
  bool notFound = false;   // no virtual host or no route (the proxy answers 404)
  std::string virtualHost;
  std::string routeName;
  std::string cluster;
  std::vector<std::pair<std::string, uint32_t>> weightedClusters;
  int redirectStatus = 0;
  std::string location;
  int directStatus = 0;
  std::string body;
  std::string prefixRewrite;
  std::string regexRewrite; // the substitution
  std::string hostRewrite;
  std::chrono::milliseconds timeout{-1};
  std::optional<proxy::router::RetryPolicy> retry;
  std::vector<proxy::router::HashPolicy> hashPolicies;
  std::optional<std::chrono::milliseconds> faultDelay;
  uint32_t faultDelayPerMillion = 0;
  std::optional<uint32_t> faultAbortHttp;
  std::optional<uint32_t> faultAbortGrpc;
  uint32_t faultAbortPerMillion = 0;
  // The compiled CORS policy of the route (the CORS filter's), if any.
  std::shared_ptr<const proxy::filters::CorsPolicy> cors;
  envoy::config::route::v3::Route proto; // the generated route that matched
  envoy::config::route::v3::VirtualHost protoVirtualHost;
};

class Simulation {
public:
  // Fails the test when the YAML does not parse or the snapshot reports a diagnostic.
  Simulation(std::string_view yaml, ProxyContext proxy, model::MeshConfig mesh = {});

  // `allowUnsupported`: when mesh-proxy refuses the route configuration, strip the fields it
  // lacks (CORS, mirrors, treat_missing_header_as_empty, max_stream_duration) and simulate on.
  Outcome send(const Request& request, bool allowUnsupported = false) const;

  const std::vector<envoy::config::route::v3::RouteConfiguration>& routes() const {
    return routes_;
  }
  std::vector<std::string> routeNames() const;
  const envoy::config::route::v3::RouteConfiguration* routeConfig(std::string_view name) const;
  const model::MeshSnapshot& snapshot() const { return *snapshot_; }
  const ProxyContext& proxy() const { return proxy_; }

private:
  std::shared_ptr<const model::MeshSnapshot> snapshot_;
  ProxyContext proxy_;
  std::vector<envoy::config::route::v3::RouteConfiguration> routes_;
};

// mesh-proxy's verdict on a RouteConfiguration: its supported-fields check, then RouteTable.
absl::Status meshProxyAccepts(const envoy::config::route::v3::RouteConfiguration& config);

// Bookinfo's four services in `default` (port 9080 "http", clusterIPs 10.0.0.1-4).
std::string bookinfoServices();
// samples/bookinfo/networking/<file>.
std::string bookinfoSample(std::string_view file);

} // namespace meshd::control::translate::testing
