// Tests for the listener generator's rules (docs/translation.md, "Listeners"); the golden files
// (golden_test.cc) show whole outputs.
#include "control/config/object_parser.h"
#include "control/translate/translator.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshd::control::translate {
namespace {

using envoy::config::listener::v3::FilterChain;
using envoy::config::listener::v3::Listener;
using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
using envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy;
using ::testing::ElementsAre;

std::shared_ptr<const model::MeshSnapshot>
snapshotOf(const std::string& yaml, std::vector<registry::WorkloadInstance> instances = {},
           model::MeshConfig mesh = {}) {
  auto parsed = config::parseObjects(yaml, "test.yaml");
  EXPECT_TRUE(parsed.diagnostics.empty()) << parsed.diagnostics[0].toString();
  std::vector<config::Diagnostic> diagnostics;
  auto snapshot =
      model::MeshSnapshot::build(parsed.objects, std::move(instances), mesh, diagnostics);
  EXPECT_TRUE(diagnostics.empty()) << diagnostics[0].toString();
  return snapshot;
}

constexpr const char* kServices = R"(
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec: {selector: {app: reviews}, ports: [{name: http, port: 9080}]}
---
apiVersion: v1
kind: Service
metadata: {name: mysql, namespace: db}
spec: {clusterIP: 10.96.0.60, selector: {app: mysql}, ports: [{name: tcp, port: 3306}]}
---
apiVersion: v1
kind: Service
metadata: {name: backup, namespace: db}
spec: {clusterIP: 10.96.0.61, selector: {app: backup}, ports: [{name: tcp, port: 3306}]}
)";

ProxyContext sidecar(std::string ns, config::Labels labels) {
  ProxyContext proxy;
  proxy.ns = std::move(ns);
  proxy.labels = std::move(labels);
  return proxy;
}

Listener named(const std::vector<Listener>& listeners, const std::string& name) {
  for (const auto& listener : listeners) {
    if (listener.name() == name) {
      return listener;
    }
  }
  ADD_FAILURE() << "no listener " << name;
  return {};
}

std::vector<std::string> chainNames(const Listener& listener) {
  std::vector<std::string> names;
  for (const auto& chain : listener.filter_chains()) {
    names.push_back(chain.name());
  }
  return names;
}

template <class Config>
Config terminal(const FilterChain& chain) {
  Config config;
  EXPECT_TRUE(chain.filters(chain.filters_size() - 1).typed_config().UnpackTo(&config));
  return config;
}

TEST(ListenerGeneratorTest, SidecarOutboundChainsPerPortAndPerTcpVip) {
  const auto snapshot = snapshotOf(kServices);
  const auto listeners = buildListeners(*snapshot, sidecar("default", {{"app", "sleep"}}));
  ASSERT_EQ(listeners.size(), 2u);
  const Listener outbound = named(listeners, "virtualOutbound");
  EXPECT_EQ(outbound.address().socket_address().port_value(), 15001u);
  EXPECT_TRUE(outbound.use_original_dst().value());
  EXPECT_THAT(chainNames(outbound),
              ElementsAre("10.96.0.61_3306", "10.96.0.60_3306", "0.0.0.0_9080"));
  const auto& mysql = outbound.filter_chains(1);
  EXPECT_EQ(mysql.filter_chain_match().destination_port().value(), 3306u);
  ASSERT_EQ(mysql.filter_chain_match().prefix_ranges_size(), 1);
  EXPECT_EQ(mysql.filter_chain_match().prefix_ranges(0).address_prefix(), "10.96.0.60");
  EXPECT_EQ(mysql.filter_chain_match().prefix_ranges(0).prefix_len().value(), 32u);
  EXPECT_EQ(terminal<TcpProxy>(mysql).cluster(), "outbound|3306||mysql.db.svc.cluster.local");
  const auto http = terminal<HttpConnectionManager>(outbound.filter_chains(2));
  EXPECT_EQ(http.rds().route_config_name(), "9080");
  EXPECT_TRUE(http.rds().config_source().has_ads());
  ASSERT_EQ(http.http_filters_size(), 3);
  EXPECT_EQ(http.http_filters(0).name(), "envoy.filters.http.cors");
  EXPECT_EQ(http.http_filters(1).name(), "envoy.filters.http.fault");
  EXPECT_EQ(http.http_filters(2).name(), "envoy.filters.http.router");
  EXPECT_EQ(terminal<TcpProxy>(outbound.default_filter_chain()).cluster(), "PassthroughCluster");
}

TEST(ListenerGeneratorTest, TcpRouteWeightsAndRegistryOnly) {
  model::MeshConfig mesh;
  mesh.outboundTrafficPolicy = model::MeshConfig::OutboundTrafficPolicy::kRegistryOnly;
  mesh.outboundListenerPort = 25001;
  const auto snapshot = snapshotOf(std::string(kServices) + R"(
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: mysql, namespace: db}
spec:
  hosts: [mysql]
  tcp:
  - match: [{port: 3306, sourceLabels: {app: other}}]
    route: [{destination: {host: backup}}]
  - route:
    - {destination: {host: mysql, subset: a}, weight: 90}
    - {destination: {host: mysql, subset: b}, weight: 10}
    - {destination: {host: mysql, subset: c}, weight: 0}
)",
                                   {}, mesh);
  const auto listeners = buildListeners(*snapshot, sidecar("default", {{"app", "sleep"}}));
  const Listener outbound = named(listeners, "virtualOutbound");
  EXPECT_EQ(outbound.address().socket_address().port_value(), 25001u);
  const auto mysql = terminal<TcpProxy>(outbound.filter_chains(1));
  ASSERT_EQ(mysql.weighted_clusters().clusters_size(), 2) << mysql.DebugString();
  EXPECT_EQ(mysql.weighted_clusters().clusters(0).name(),
            "outbound|3306|a|mysql.db.svc.cluster.local");
  EXPECT_EQ(mysql.weighted_clusters().clusters(1).weight(), 10u);
  EXPECT_EQ(terminal<TcpProxy>(outbound.default_filter_chain()).cluster(), "BlackHoleCluster");
}

TEST(ListenerGeneratorTest, TlsPortsAreChosenBySni) {
  const auto snapshot = snapshotOf(R"(
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: external, namespace: default}
spec:
  hosts: [api.example.com]
  ports: [{number: 443, name: https, protocol: HTTPS}]
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: wildcard, namespace: default}
spec:
  hosts: ["*.example.org"]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: NONE
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: org, namespace: default}
spec:
  hosts: ["*.example.org"]
  tls:
  - match: [{port: 443, sniHosts: [a.example.org]}]
    route: [{destination: {host: api.example.com}}]
)");
  const Listener outbound =
      named(buildListeners(*snapshot, sidecar("default", {})), "virtualOutbound");
  ASSERT_EQ(outbound.listener_filters_size(), 1);
  EXPECT_EQ(outbound.listener_filters(0).name(), "envoy.filters.listener.tls_inspector");
  EXPECT_THAT(chainNames(outbound),
              ElementsAre("a.example.org_443", "*.example.org_443", "api.example.com_443"));
  const auto& routed = outbound.filter_chains(0);
  EXPECT_EQ(routed.filter_chain_match().transport_protocol(), "tls");
  EXPECT_THAT(routed.filter_chain_match().server_names(), ElementsAre("a.example.org"));
  EXPECT_EQ(terminal<TcpProxy>(routed).cluster(), "outbound|443||api.example.com");
}

TEST(ListenerGeneratorTest, SidecarEgressNarrowsTheOutboundPorts) {
  const auto snapshot = snapshotOf(std::string(kServices) + R"(
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: only-db, namespace: default}
spec:
  workloadSelector: {labels: {app: sleep}}
  egress: [{hosts: ["db/mysql.db.svc.cluster.local"]}]
)");
  EXPECT_THAT(chainNames(named(buildListeners(*snapshot, sidecar("default", {{"app", "sleep"}})),
                               "virtualOutbound")),
              ElementsAre("10.96.0.60_3306"));
  EXPECT_EQ(
      named(buildListeners(*snapshot, sidecar("default", {{"app", "web"}})), "virtualOutbound")
          .filter_chains_size(),
      3);
}

TEST(ListenerGeneratorTest, InboundChainsFollowTheWorkloadsServices) {
  registry::WorkloadInstance instance;
  instance.name = "reviews-v1-0";
  instance.ns = "default";
  instance.labels = {{"app", "reviews"}};
  instance.address = "127.0.0.12";
  const auto snapshot = snapshotOf(kServices, {instance});
  ProxyContext proxy = sidecar("default", {{"app", "reviews"}});
  proxy.podName = "reviews-v1-0";
  const Listener inbound = named(buildListeners(*snapshot, proxy), "virtualInbound");
  EXPECT_EQ(inbound.address().socket_address().port_value(), 15006u);
  EXPECT_THAT(chainNames(inbound), ElementsAre("0.0.0.0_9080"));
  const auto http = terminal<HttpConnectionManager>(inbound.filter_chains(0));
  EXPECT_EQ(http.route_config().name(), "inbound|9080||");
  EXPECT_EQ(http.route_config().virtual_hosts(0).routes(0).route().cluster(), "inbound|9080||");
  EXPECT_EQ(terminal<TcpProxy>(inbound.default_filter_chain()).cluster(),
            "InboundPassthroughCluster");
  // Another proxy (no instance of its own): no inbound ports.
  EXPECT_EQ(named(buildListeners(*snapshot, sidecar("default", {})), "virtualInbound")
                .filter_chains_size(),
            0);
}

TEST(ListenerGeneratorTest, ExplicitProxyOnlyWithItsPort) {
  const auto snapshot = snapshotOf(kServices);
  ProxyContext proxy = sidecar("default", {});
  proxy.explicitProxyPort = 15080;
  const auto listeners = buildListeners(*snapshot, proxy);
  ASSERT_EQ(listeners.size(), 3u);
  const Listener explicitProxy = named(listeners, "explicitProxy");
  EXPECT_EQ(explicitProxy.address().socket_address().address(), "127.0.0.1");
  EXPECT_EQ(explicitProxy.address().socket_address().port_value(), 15080u);
  EXPECT_EQ(
      terminal<HttpConnectionManager>(explicitProxy.filter_chains(0)).rds().route_config_name(),
      "explicit_proxy");
}

TEST(ListenerGeneratorTest, UncapturedSidecarListensOnItsOwnAddressPerPort) {
  registry::WorkloadInstance instance;
  instance.name = "reviews-v1-0";
  instance.ns = "default";
  instance.labels = {{"app", "reviews"}};
  instance.address = "127.77.1.5";
  const auto snapshot = snapshotOf(kServices, {instance});
  ProxyContext proxy = sidecar("default", {{"app", "reviews"}});
  proxy.podName = "reviews-v1-0";
  proxy.ips = {"127.77.1.5"};
  proxy.captured = false;
  proxy.explicitProxyPort = 15001;
  const auto listeners = buildListeners(*snapshot, proxy);
  std::vector<std::string> names;
  for (const Listener& listener : listeners) {
    names.push_back(listener.name());
  }
  EXPECT_THAT(names, ElementsAre("127.77.1.5_9080", "explicitProxy"))
      << "no virtualOutbound/virtualInbound without capture";
  const Listener inbound = named(listeners, "127.77.1.5_9080");
  EXPECT_EQ(inbound.address().socket_address().address(), "127.77.1.5");
  EXPECT_EQ(inbound.address().socket_address().port_value(), 9080u);
  EXPECT_EQ(inbound.traffic_direction(), envoy::config::core::v3::INBOUND);
  ASSERT_EQ(inbound.filter_chains_size(), 1);
  EXPECT_EQ(terminal<HttpConnectionManager>(inbound.filter_chains(0))
                .route_config()
                .virtual_hosts(0)
                .routes(0)
                .route()
                .cluster(),
            "inbound|9080||");
  const Listener explicitProxy = named(listeners, "explicitProxy");
  EXPECT_EQ(explicitProxy.address().socket_address().address(), "127.77.1.5");
  EXPECT_EQ(explicitProxy.address().socket_address().port_value(), 15001u);
}

TEST(ListenerGeneratorTest, UncapturedGatewayBindsItsOwnAddress) {
  const auto snapshot = snapshotOf(std::string(kServices) + R"(
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}]
)");
  ProxyContext proxy = sidecar("istio-system", {{"istio", "ingressgateway"}});
  proxy.type = ProxyContext::Type::kRouter;
  proxy.ips = {"127.77.0.2"};
  proxy.captured = false;
  const auto listeners = buildListeners(*snapshot, proxy);
  ASSERT_EQ(listeners.size(), 1u);
  EXPECT_EQ(listeners[0].name(), "127.77.0.2_8080");
  EXPECT_EQ(listeners[0].address().socket_address().address(), "127.77.0.2");
}

TEST(ListenerGeneratorTest, ProxylessGrpcGetsApiListenersByHostAndPort) {
  const auto snapshot = snapshotOf(kServices);
  ProxyContext proxy = sidecar("default", {});
  proxy.type = ProxyContext::Type::kProxylessGrpc;
  const auto listeners = buildListeners(*snapshot, proxy);
  ASSERT_EQ(listeners.size(), 1u) << "TCP ports are not callable over gRPC";
  EXPECT_EQ(listeners[0].name(), "reviews.default.svc.cluster.local:9080");
  HttpConnectionManager manager;
  ASSERT_TRUE(listeners[0].api_listener().api_listener().UnpackTo(&manager));
  EXPECT_EQ(manager.rds().route_config_name(), "reviews.default.svc.cluster.local:9080");
  ASSERT_EQ(manager.http_filters_size(), 1);
  EXPECT_FALSE(listeners[0].has_address());
}

TEST(ListenerGeneratorTest, GatewayListenersPerServerPort) {
  const auto snapshot = snapshotOf(std::string(kServices) + R"(
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}
  - {port: {number: 8080, name: http2, protocol: HTTP}, hosts: [a.example.com]}
  - {port: {number: 31400, name: tcp, protocol: TCP}, hosts: ["*"]}
  - {port: {number: 31401, name: tcp-unrouted, protocol: TCP}, hosts: ["*"]}
  - {port: {number: 8080, name: http-internal, protocol: HTTP}, hosts: ["*"], bind: 10.0.0.1}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: default}
spec:
  hosts: ["*"]
  gateways: [gw]
  tcp: [{match: [{port: 31400}], route: [{destination: {host: mysql.db.svc.cluster.local}}]}]
)");
  ProxyContext proxy = sidecar("istio-system", {{"istio", "ingressgateway"}});
  proxy.type = ProxyContext::Type::kRouter;
  const auto listeners = buildListeners(*snapshot, proxy);
  ASSERT_EQ(listeners.size(), 3u) << "31401 has no route";
  EXPECT_EQ(listeners[0].name(), "0.0.0.0_31400");
  EXPECT_EQ(terminal<TcpProxy>(listeners[0].filter_chains(0)).cluster(),
            "outbound|3306||mysql.db.svc.cluster.local");
  EXPECT_EQ(listeners[2].name(), "10.0.0.1_8080") << "a server with a bind IP";
  EXPECT_EQ(listeners[2].address().socket_address().address(), "10.0.0.1");
  EXPECT_EQ(listeners[1].name(), "0.0.0.0_8080");
  ASSERT_EQ(listeners[1].filter_chains_size(), 1) << "HTTP servers share the port's routes";
  const auto http = terminal<HttpConnectionManager>(listeners[1].filter_chains(0));
  EXPECT_EQ(http.rds().route_config_name(), "http.8080");
  EXPECT_TRUE(http.use_remote_address().value());
}

} // namespace
} // namespace meshd::control::translate
