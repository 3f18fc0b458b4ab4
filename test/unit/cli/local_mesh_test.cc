// The pure parts of meshctl's local mesh: LocalWorkloads as instances, cluster IPs, the hosts file
// each instance sees, capture rules, proxy bootstraps, state dirs, and LocalWorkload working
// directories made absolute on apply.
#include <filesystem>
#include <set>

#include "cli/mesh/mesh_model.h"
#include "cli/mesh/netns_network.h"
#include "cli/mesh/state_dir.h"
#include "cli/working_dirs.h"
#include "core/yaml_json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshd::cli::mesh {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(LocalMeshModelTest, WorkloadsFromMeshdsList) {
  const nlohmann::json list = nlohmann::json::parse(R"({"items": [
    {"kind": "LocalWorkload", "metadata": {"name": "reviews-v2", "namespace": "shop"},
     "spec": {"labels": {"app": "reviews", "version": "v2"}, "serviceAccount": "bookinfo-reviews",
              "ports": [{"name": "http", "port": 9080}], "command": ["python3", "reviews.py"],
              "env": {"SERVICE_VERSION": "v2"}, "workingDir": "/srv/reviews", "replicas": 2}},
    {"kind": "LocalWorkload", "metadata": {"name": "sleep"}, "spec": {"command": ["sleep.py"]}},
    {"kind": "LocalWorkload", "metadata": {"name": "no-command"}, "spec": {}}
  ]})");
  const std::vector<WorkloadSpec> workloads = workloadsFromList(list);
  ASSERT_EQ(workloads.size(), 2u) << "an object without a command is skipped";
  const WorkloadSpec& reviews = workloads[0];
  EXPECT_EQ(reviews.ns, "shop");
  EXPECT_EQ(reviews.labels.at("version"), "v2");
  EXPECT_EQ(reviews.serviceAccount, "bookinfo-reviews");
  ASSERT_EQ(reviews.ports.size(), 1u);
  EXPECT_EQ(reviews.ports[0].port, 9080);
  EXPECT_EQ(reviews.env.at("SERVICE_VERSION"), "v2");
  EXPECT_EQ(reviews.replicas, 2);
  EXPECT_EQ(instanceName(reviews, 1), "reviews-v2-1");
  EXPECT_EQ(workloads[1].ns, "default");
  EXPECT_EQ(workloads[1].serviceAccount, "default");
  EXPECT_EQ(workloads[1].replicas, 1);
  EXPECT_NE(workloads[0].fingerprint, workloads[1].fingerprint);
}

TEST(LocalMeshModelTest, ClusterIpsAreStableAndDistinct) {
  const std::string first = allocateClusterIp("default", "reviews", {});
  EXPECT_EQ(first, allocateClusterIp("default", "reviews", {})) << "the same name, the same IP";
  EXPECT_TRUE(first.starts_with("10.96.")) << first;
  const std::string moved = allocateClusterIp("default", "reviews", {first});
  EXPECT_NE(moved, first) << "a taken address moves it on";
  std::set<std::string> taken;
  for (int i = 0; i < 500; ++i) {
    const std::string ip = allocateClusterIp("ns", "svc" + std::to_string(i), taken);
    EXPECT_FALSE(taken.contains(ip));
    EXPECT_FALSE(ip.ends_with(".0") || ip.ends_with(".255")) << ip;
    taken.insert(ip);
  }
}

TEST(LocalMeshModelTest, HostsFileNamesServicesAsKubernetesDnsWould) {
  const std::string hosts = hostsFileFor("10.77.1.2", "productpage-v1-0", "default",
                                         {{"default", "reviews", "10.96.0.10"},
                                          {"db", "mysql", "10.96.0.20"},
                                          {"db", "headless", "None"},
                                          {"default", "pending", ""}});
  EXPECT_THAT(hosts, HasSubstr("10.77.1.2\tproductpage-v1-0\n"));
  EXPECT_THAT(hosts, HasSubstr("10.96.0.10\treviews.default.svc.cluster.local reviews.default.svc "
                               "reviews.default reviews\n"))
      << "the short name in the instance's own namespace";
  EXPECT_THAT(hosts, HasSubstr("10.96.0.20\tmysql.db.svc.cluster.local mysql.db.svc mysql.db\n"))
      << "no short name from another namespace";
  EXPECT_THAT(hosts, Not(HasSubstr("headless")));
  EXPECT_THAT(hosts, Not(HasSubstr("pending")));
  EXPECT_THAT(isolatedResolvConf("default"), HasSubstr("nameserver 127.0.0.1"));
}

TEST(LocalMeshModelTest, ServiceEntryHostsWithAnAddressResolve) {
  const nlohmann::json list = nlohmann::json::parse(R"({"items": [
    {"spec": {"hosts": ["external.example.com", "*.wild.example.com"], "addresses": ["240.240.0.10"]}},
    {"spec": {"hosts": ["range.example.com"], "addresses": ["10.1.0.0/16"]}},
    {"spec": {"hosts": ["noaddress.example.com"]}}
  ]})");
  const std::vector<HostAddress> hosts = serviceEntryHostsFromList(list);
  ASSERT_EQ(hosts.size(), 1u) << "wildcards, CIDR ranges and entries without address name nothing";
  EXPECT_EQ(hosts[0].host, "external.example.com");
  EXPECT_THAT(hostsFileFor("10.77.1.2", "sleep-0", "default", {}, hosts),
              HasSubstr("240.240.0.10\texternal.example.com\n"));
}

TEST(LocalMeshModelTest, GatewayServicesSelectTheGateways) {
  absl::StatusOr<std::vector<std::string>> documents =
      core::yamlDocumentsToJson(gatewayServicesYaml());
  ASSERT_TRUE(documents.ok()) << documents.status();
  ASSERT_EQ(documents->size(), 2u);
  const nlohmann::json egress = nlohmann::json::parse((*documents)[1]);
  EXPECT_EQ(egress["metadata"]["name"], "istio-egressgateway");
  EXPECT_EQ(egress["metadata"]["namespace"], "istio-system");
  EXPECT_EQ(egress["spec"]["selector"]["istio"], "egressgateway");
  EXPECT_EQ(egress["spec"]["ports"][0]["port"], 80);
  EXPECT_EQ(egress["spec"]["ports"][0]["targetPort"], 8080);
}

TEST(LocalMeshModelTest, CaptureRulesSkipTheProxysOwnTraffic) {
  const std::string rules = captureRules();
  EXPECT_THAT(rules, HasSubstr("-A MESH_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006"));
  EXPECT_THAT(rules, HasSubstr("-A MESH_REDIRECT -p tcp -j REDIRECT --to-ports 15001"));
  EXPECT_THAT(rules, HasSubstr("-m owner --uid-owner 1337 -j RETURN"));
  EXPECT_THAT(rules, HasSubstr("--dport 15000 -j RETURN")) << "the admin port is not captured";
  EXPECT_TRUE(rules.ends_with("COMMIT\n"));
}

TEST(LocalMeshModelTest, AddressesOfInstances) {
  EXPECT_EQ(podAddress(0), "10.77.1.1");
  EXPECT_EQ(podAddress(253), "10.77.1.254");
  EXPECT_EQ(podAddress(254), "10.77.2.1");
  EXPECT_EQ(localPodAddress(1), "127.77.1.2");
  EXPECT_EQ(localAppAddress(1), "127.78.1.2");
  EXPECT_EQ(nodeIdOf("sidecar", "10.77.1.2", "reviews-v1-0", "default"),
            "sidecar~10.77.1.2~reviews-v1-0.default~default.svc.cluster.local");
}

TEST(LocalMeshModelTest, BootstrapPointsAtMeshdAndCarriesMetadata) {
  const std::string yaml =
      proxyBootstrap("127.0.0.1", 40123, "127.77.1.2", 15000, {{"INTERCEPTION_MODE", "NONE"}});
  absl::StatusOr<std::string> json = core::yamlToJson(yaml);
  ASSERT_TRUE(json.ok()) << json.status();
  const nlohmann::json bootstrap = nlohmann::json::parse(*json);
  EXPECT_EQ(bootstrap["node"]["metadata"]["INTERCEPTION_MODE"], "NONE");
  EXPECT_EQ(bootstrap["admin"]["address"]["socket_address"]["address"], "127.77.1.2");
  EXPECT_EQ(bootstrap["static_resources"]["clusters"][0]["load_assignment"]["endpoints"][0]
                     ["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]["port_value"],
            40123);
}

TEST(LocalMeshStateDirTest, MeshIdFollowsThePathAndLayoutIsCleared) {
  const std::filesystem::path root =
      std::filesystem::temp_directory_path() / ("local-mesh-test-" + std::to_string(::getpid()));
  StateDir state(root);
  EXPECT_EQ(state.meshId(), StateDir(root).meshId());
  EXPECT_NE(state.meshId(), StateDir(root / "other").meshId());
  EXPECT_EQ(state.meshId().size(), 7u);
  ASSERT_TRUE(state.createLayout().ok());
  ASSERT_TRUE(writeFileAtomically(state.statusFile(), "{}").ok());
  ASSERT_TRUE(rewriteInPlace(state.podDir("x").parent_path() / "hosts", "a\n").ok());
  EXPECT_EQ(readFile(state.statusFile()).value_or(""), "{}");
  EXPECT_EQ(state.runningSupervisor(), 0) << "no pid file";
  state.clear();
  EXPECT_FALSE(std::filesystem::exists(state.statusFile()));
  EXPECT_FALSE(std::filesystem::exists(state.configDir()));
  std::filesystem::remove_all(root);
}

TEST(WorkingDirsTest, RelativeDirectoriesBecomeAbsoluteAgainstTheFile) {
  const InputFile file{"/srv/samples/bookinfo/platform/bookinfo.yaml", R"(apiVersion: v1
kind: Service
metadata: {name: details}
spec: {selector: {app: details}, ports: [{name: http, port: 9080}]}
---
apiVersion: meshd.io/v1alpha1
kind: LocalWorkload
metadata: {name: details-v1}
spec: {command: [python3, details.py], workingDir: ../src/details}
---
apiVersion: meshd.io/v1alpha1
kind: LocalWorkload
metadata: {name: here}
spec: {command: [./run]}
---
apiVersion: meshd.io/v1alpha1
kind: LocalWorkload
metadata: {name: fixed}
spec: {command: [./run], workingDir: /opt/app}
)"};
  const std::optional<std::string> rewritten = withAbsoluteWorkingDirs(file);
  ASSERT_TRUE(rewritten.has_value());
  absl::StatusOr<std::vector<std::string>> documents = core::yamlDocumentsToJson(*rewritten);
  ASSERT_TRUE(documents.ok());
  ASSERT_EQ(documents->size(), 4u);
  EXPECT_EQ(nlohmann::json::parse((*documents)[1])["spec"]["workingDir"],
            "/srv/samples/bookinfo/src/details");
  EXPECT_EQ(nlohmann::json::parse((*documents)[2])["spec"]["workingDir"],
            "/srv/samples/bookinfo/platform")
      << "none: the file's directory";
  EXPECT_EQ(nlohmann::json::parse((*documents)[3])["spec"]["workingDir"], "/opt/app");
  EXPECT_EQ(nlohmann::json::parse((*documents)[0])["kind"], "Service");
  EXPECT_FALSE(withAbsoluteWorkingDirs({"x.yaml", "kind: Service\n"}).has_value())
      << "files without LocalWorkloads are sent as they are";
}

} // namespace
} // namespace meshd::cli::mesh
