// Bookinfo as the cluster and endpoint tests see it: the registry fixture's Services and
// LocalWorkloads (namespace "bookinfo", instances at 127.0.0.10...), the sample
// destination-rule-all.yaml, extra YAML per test, and the productpage sidecar's ProxyContext.
#pragma once

#include <fstream>
#include <sstream>

#include "../registry/bookinfo_fixture.h"
#include "control/model/mesh_snapshot.h"
#include "control/translate/translator.h"
#include "google/protobuf/util/json_util.h"

namespace meshd::control::translate::testing {

using envoy::config::cluster::v3::Cluster;
using envoy::config::endpoint::v3::ClusterLoadAssignment;

inline std::string readSample(const std::string& relative) {
  std::ifstream in(std::string(MESHD_SOURCE_DIR) + "/" + relative);
  EXPECT_TRUE(in.good()) << relative;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline std::string destinationRuleAll() {
  return readSample("samples/bookinfo/networking/destination-rule-all.yaml");
}

// Bookinfo plus `extraYaml` (namespaced objects default to "bookinfo"), with its instances and
// `changeInstances` applied to them.
inline std::shared_ptr<const model::MeshSnapshot> bookinfoSnapshot(
    const std::string& extraYaml, model::MeshConfig mesh = {},
    const std::function<void(std::vector<registry::WorkloadInstance>&)>& changeInstances = {}) {
  auto parsed = config::parseObjects(registry::testing::bookinfoYaml() + "---\n" + extraYaml,
                                     "test.yaml", "bookinfo");
  EXPECT_TRUE(parsed.diagnostics.empty()) << parsed.diagnostics[0].toString();
  auto instances = registry::testing::bookinfoInstances(parsed.objects);
  if (changeInstances) {
    changeInstances(instances);
  }
  std::vector<config::Diagnostic> diagnostics;
  auto snapshot =
      model::MeshSnapshot::build(parsed.objects, std::move(instances), mesh, diagnostics);
  EXPECT_TRUE(diagnostics.empty()) << diagnostics[0].toString();
  return snapshot;
}

inline ProxyContext sidecarOf(std::string app, std::string version = "v1") {
  ProxyContext proxy;
  proxy.type = ProxyContext::Type::kSidecar;
  proxy.ns = "bookinfo";
  proxy.podName = app + "-" + version + "-0";
  proxy.labels = {{"app", app}, {"version", version}};
  return proxy;
}

inline const Cluster* findCluster(const std::vector<Cluster>& clusters, std::string_view name) {
  for (const Cluster& cluster : clusters) {
    if (cluster.name() == name) {
      return &cluster;
    }
  }
  return nullptr;
}

inline std::vector<std::string> clusterNames(const std::vector<Cluster>& clusters) {
  std::vector<std::string> out;
  for (const Cluster& cluster : clusters) {
    out.push_back(cluster.name());
  }
  return out;
}

inline std::string toJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(message, &out, options).ok());
  return out;
}

// httpbin.org as a DNS ServiceEntry (a STRICT_DNS cluster).
inline const std::string kHttpbinDnsEntry = R"(apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin}
spec:
  hosts: [httpbin.org]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
)";

inline constexpr std::string_view kReviews = "reviews.bookinfo.svc.cluster.local";
inline constexpr std::string_view kDetails = "details.bookinfo.svc.cluster.local";
inline constexpr std::string_view kRatings = "ratings.bookinfo.svc.cluster.local";

} // namespace meshd::control::translate::testing
