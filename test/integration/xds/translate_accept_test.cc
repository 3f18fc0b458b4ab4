// Accepted by mesh-proxy (docs/translation.md, "Golden files"): for every golden translation case
// and every mesh-proxy of its proxies.yaml, meshd's xDS server serves what translate() produces
// for that proxy to a real mesh-proxy (ADS for CDS, EDS, LDS, RDS, with the node identity of the
// case's proxy), which must ACK every type it is sent and hold every generated listener. Listener
// ports come from MeshConfig and the Gateways, moved to free ports so that tests can run in
// parallel. Proxies whose resources use what mesh-proxy does not support yet are skipped with the
// reason.
#include <iostream>
#include <map>
#include <set>
#include <utility>

#include "control/xds/resource_snapshot.h"
#include "control/xds/snapshot_cache.h"
#include "control/xds/xds_server.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "envoy/extensions/network/dns_resolver/cares/v3/cares_dns_resolver.pb.h"
#include "fmt/format.h"
#include "test/support/dns_server.h"
#include "test/support/http_client.h"
#include "test/support/mesh_proxy.h"
#include "test/support/process.h"
#include "test/unit/control/translate/translate_case.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;
using control::translate::ProxyContext;
using control::translate::ProxyResources;
using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
using envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy;

// Listeners that terminate TLS (mesh-proxy has no downstream TLS yet) are left out of what is
// served; the reasons are returned.
std::vector<std::string> dropTlsListeners(ProxyResources& resources) {
  std::vector<std::string> reasons;
  std::erase_if(resources.listeners, [&](const envoy::config::listener::v3::Listener& listener) {
    for (const auto& chain : listener.filter_chains()) {
      if (chain.has_transport_socket()) {
        reasons.push_back(fmt::format(
            "listener {} (terminates TLS: no downstream TLS in mesh-proxy)", listener.name()));
        return true;
      }
    }
    return false;
  });
  return reasons;
}

// What mesh-proxy cannot take yet (docs/proxy.md) in clusters; empty: all supported.
std::vector<std::string> unsupportedByMeshProxy(const ProxyResources& resources) {
  std::set<std::string> reasons;
  for (const auto& cluster : resources.clusters) {
    if (cluster.has_transport_socket() || cluster.transport_socket_matches_size() > 0) {
      reasons.insert(
          fmt::format("cluster {} originates TLS (no upstream TLS in mesh-proxy)", cluster.name()));
    }
  }
  return {reasons.begin(), reasons.end()};
}

// The DNS clusters of the golden files name public hosts: they are pointed at the test's DNS
// server (which knows no name: NXDOMAIN), so that no lookup leaves the machine.
void resolveWithTestDns(ProxyResources& resources, uint16_t dns_port) {
  for (auto& cluster : resources.clusters) {
    if (cluster.type() != envoy::config::cluster::v3::Cluster::STRICT_DNS &&
        cluster.type() != envoy::config::cluster::v3::Cluster::LOGICAL_DNS) {
      continue;
    }
    envoy::extensions::network::dns_resolver::cares::v3::CaresDnsResolverConfig cares;
    auto* resolver = cares.add_resolvers()->mutable_socket_address();
    resolver->set_address("127.0.0.1");
    resolver->set_port_value(dns_port);
    auto* config = cluster.mutable_typed_dns_resolver_config();
    config->set_name("envoy.network.dns_resolver.cares");
    config->mutable_typed_config()->PackFrom(cares);
  }
}

void addTcpClusters(const envoy::config::listener::v3::FilterChain& chain,
                    std::set<std::string>& out) {
  for (const auto& filter : chain.filters()) {
    TcpProxy tcp;
    HttpConnectionManager http;
    if (filter.typed_config().UnpackTo(&tcp)) {
      if (!tcp.cluster().empty()) {
        out.insert(tcp.cluster());
      }
      for (const auto& weighted : tcp.weighted_clusters().clusters()) {
        out.insert(weighted.name());
      }
    } else if (filter.typed_config().UnpackTo(&http)) {
      for (const auto& host : http.route_config().virtual_hosts()) {
        for (const auto& route : host.routes()) {
          if (!route.route().cluster().empty()) {
            out.insert(route.route().cluster());
          }
        }
      }
    }
  }
}

// While the cluster generator is a scaffold (no clusters at all), the clusters the listeners name
// are stood in for by empty STATIC clusters, so that what is checked is the listeners. Once the
// generator produces clusters, every cluster a listener names must come from it.
std::vector<envoy::config::cluster::v3::Cluster> standInClusters(const ProxyResources& resources) {
  if (!resources.clusters.empty()) {
    return {};
  }
  std::set<std::string> names;
  for (const auto& listener : resources.listeners) {
    for (const auto& chain : listener.filter_chains()) {
      addTcpClusters(chain, names);
    }
    if (listener.has_default_filter_chain()) {
      addTcpClusters(listener.default_filter_chain(), names);
    }
  }
  std::vector<envoy::config::cluster::v3::Cluster> out;
  for (const auto& name : names) {
    envoy::config::cluster::v3::Cluster cluster;
    cluster.set_name(name);
    cluster.set_type(envoy::config::cluster::v3::Cluster::STATIC);
    cluster.mutable_connect_timeout()->set_seconds(1);
    out.push_back(std::move(cluster));
  }
  return out;
}

// Moves every Gateway server port to a free port, and the VirtualService match ports that name
// it along (the same old port always gets the same new one).
void moveGatewayPorts(std::vector<control::config::ConfigObject>& objects) {
  std::map<int, int> moved;
  for (auto& object : objects) {
    if (object.key.kind != "Gateway" || !object.json["spec"].contains("servers")) {
      continue;
    }
    for (auto& server : object.json["spec"]["servers"]) {
      const int old = server["port"]["number"].get<int>();
      if (!moved.contains(old)) {
        moved[old] = pickFreePort();
      }
      server["port"]["number"] = moved[old];
    }
  }
  for (auto& object : objects) {
    if (object.key.kind != "VirtualService") {
      continue;
    }
    auto& spec = object.json["spec"];
    for (const char* kind : {"http", "tcp", "tls"}) {
      if (!spec.contains(kind)) {
        continue;
      }
      for (auto& route : spec[kind]) {
        if (!route.contains("match")) {
          continue;
        }
        for (auto& match : route["match"]) {
          if (match.contains("port") && moved.contains(match["port"].get<int>())) {
            match["port"] = moved[match["port"].get<int>()];
          }
        }
      }
    }
  }
}

// mesh-proxy's node identity flags for the case's proxy.
std::vector<std::string> identityFlags(const ProxyContext& proxy) {
  std::vector<std::string> flags = {
      "--proxy-type", proxy.type == ProxyContext::Type::kRouter ? "router" : "sidecar",
      "--namespace", proxy.ns};
  if (!proxy.workloadName.empty()) {
    flags.insert(flags.end(), {"--workload", proxy.workloadName});
  }
  if (!proxy.podName.empty()) {
    flags.insert(flags.end(), {"--pod-name", proxy.podName});
  }
  if (!proxy.ips.empty()) {
    flags.insert(flags.end(), {"--ip", proxy.ips.front()});
  }
  for (const auto& [key, value] : proxy.labels) {
    flags.insert(flags.end(), {"--label", fmt::format("{}={}", key, value)});
  }
  return flags;
}

std::string bootstrap(uint16_t xdsPort) {
  return adsBootstrap(xdsPort, "{id: translate-accept, cluster: test}");
}

// Every type the server sent was ACKed at its last version (and CDS and LDS were sent).
bool allAcked(const control::xds::XdsServer& server) {
  std::set<std::string> acked;
  for (const auto& stream : server.streams()) {
    for (const auto& type : stream.types) {
      if (!type.lastVersionSent.empty() && type.lastAckedVersion != type.lastVersionSent) {
        return false;
      }
      if (!type.lastVersionSent.empty()) {
        acked.insert(type.typeUrl);
      }
    }
  }
  return acked.contains("type.googleapis.com/envoy.config.cluster.v3.Cluster") &&
         acked.contains("type.googleapis.com/envoy.config.listener.v3.Listener");
}

std::string nacks(const control::xds::XdsServer& server) {
  std::string out;
  for (const auto& stream : server.streams()) {
    for (const auto& type : stream.types) {
      if (type.lastNack) {
        out += fmt::format("{}: {}\n", type.typeUrl, type.lastNack->message);
      }
    }
  }
  return out;
}

class TranslateAcceptTest : public ::testing::TestWithParam<std::filesystem::path> {};

TEST_P(TranslateAcceptTest, MeshProxyAcksEveryType) {
  auto loaded = loadTranslateCase(GetParam());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  loaded->mesh.outboundListenerPort = pickFreePort();
  loaded->mesh.inboundListenerPort = pickFreePort();
  // mesh-proxy has no TLS yet: meshd runs with auto-mTLS off until it does (the golden files keep
  // Istio's default, on). DestinationRules that ask for TLS still skip their proxy.
  loaded->mesh.enableAutoMtls = false;
  moveGatewayPorts(loaded->objects);
  const auto snapshot = caseSnapshot(loaded->objects, loaded->mesh);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  DnsServer dns;
  int checked = 0;
  for (const auto& caseProxy : loaded->proxies) {
    SCOPED_TRACE(caseProxy.name);
    ProxyContext proxy = ProxyContext::fromNode(caseProxy.node);
    if (proxy.type == ProxyContext::Type::kProxylessGrpc) {
      std::cout << "skipped " << caseProxy.name << ": a proxyless gRPC client, not a mesh-proxy "
                << "(test/integration/xds/grpc_js_xds_test.cc covers that client)\n";
      continue;
    }
    if (proxy.explicitProxyPort != 0) {
      proxy.explicitProxyPort = pickFreePort();
    }
    ProxyResources resources = control::translate::translate(**snapshot, proxy);
    for (const auto& reason : dropTlsListeners(resources)) {
      std::cout << caseProxy.name << ": left out " << reason << "\n";
    }
    if (const auto reasons = unsupportedByMeshProxy(resources); !reasons.empty()) {
      for (const auto& reason : reasons) {
        std::cout << "skipped " << caseProxy.name << ": " << reason << "\n";
      }
      continue;
    }
    resolveWithTestDns(resources, dns.port());
    control::xds::ResourceSnapshotBuilder builder;
    const auto standIns = standInClusters(resources);
    for (const auto& cluster : standIns) {
      std::cout << caseProxy.name << ": stand-in cluster " << cluster.name() << "\n";
    }
    for (const auto* list : {&std::as_const(resources.clusters), &standIns}) {
      for (const auto& cluster : *list) {
        ASSERT_TRUE(builder.add(cluster).ok());
      }
    }
    for (const auto& endpoints : resources.endpoints) {
      ASSERT_TRUE(builder.add(endpoints).ok());
    }
    for (const auto& listener : resources.listeners) {
      ASSERT_TRUE(builder.add(listener).ok());
    }
    for (const auto& routes : resources.routes) {
      ASSERT_TRUE(builder.add(routes).ok());
    }
    control::xds::SnapshotCache cache;
    control::xds::ServerOptions options;
    options.debounceQuietPeriod = 0ms;
    control::xds::XdsServer server(cache, options);
    ASSERT_TRUE(server.start().ok());
    cache.setDefault(builder.build());
    server.push();

    MeshProxy meshProxy(bootstrap(static_cast<uint16_t>(server.port())), identityFlags(proxy));
    ASSERT_TRUE(meshProxy.started()) << meshProxy.logs();
    const bool acked = waitFor([&] { return allAcked(server) || !nacks(server).empty(); }, 15s);
    EXPECT_TRUE(acked && nacks(server).empty()) << nacks(server) << "\nmesh-proxy logs:\n"
                                                << meshProxy.logs();
    const std::string dump = httpGet(meshProxy.adminPort(), "/config_dump").body;
    for (const auto& listener : resources.listeners) {
      EXPECT_NE(dump.find(fmt::format("\"name\": \"{}\"", listener.name())), std::string::npos)
          << listener.name() << " is not in mesh-proxy's /config_dump";
    }
    server.shutdown(1s);
    ++checked;
  }
  std::cout << GetParam().filename().string() << ": " << checked << " proxy(ies) checked\n";
}

INSTANTIATE_TEST_SUITE_P(Cases, TranslateAcceptTest, ::testing::ValuesIn(translateCaseDirs()),
                         [](const auto& param_info) { return caseTestName(param_info.param); });

} // namespace
} // namespace meshd::testing
