// `meshctl down` leaves the machine as it was (issue 7, acceptance 3): no network namespace of the
// mesh, no process of it, the host network namespace's iptables rules and interfaces unchanged,
// the state directory empty. And a mesh whose supervisor was killed (-9) is cleaned up by the
// next `meshctl up`, which then works. Each case runs its own small mesh (httpbin and sleep).
#include <signal.h>

#include "test/e2e/host_state.h"
#include "test/e2e/mesh_fixture.h"
#include "test/support/process.h"

namespace meshd::e2e {
namespace {

const std::vector<std::string> kMeshFiles = {"httpbin/httpbin.yaml", "sleep/sleep.yaml"};

// What a running mesh consists of, recorded to check later that it is all gone.
struct MeshFootprint {
  std::string prefix;
  std::vector<std::string> namespaces;
  // The supervisor first, meshd, every app and sidecar, and whatever else ran in the mesh's
  // namespaces. (Namespace inodes themselves are not kept: the kernel reuses them.)
  std::vector<ProcessRecord> processes;
};

MeshFootprint footprintOf(const LocalMesh& mesh) {
  MeshFootprint footprint;
  const nlohmann::json status = mesh.status();
  footprint.prefix = status.value("meshId", "");
  footprint.namespaces = namespacesWithPrefix(footprint.prefix);
  std::vector<pid_t> pids = {
      static_cast<pid_t>(std::atoi(testing::readFile(mesh.stateDir() / "supervisor.pid").c_str())),
      status.value("meshd", nlohmann::json::object()).value("pid", 0)};
  for (const nlohmann::json& pod : status.value("pods", nlohmann::json::array())) {
    pids.push_back(pod.value("appPid", 0));
    pids.push_back(pod.value("proxyPid", 0));
  }
  for (const std::string& name : footprint.namespaces) {
    if (std::optional<ino_t> inode = namespaceInode(name)) {
      for (const pid_t pid : processesInNamespace(*inode)) {
        if (std::find(pids.begin(), pids.end(), pid) == pids.end()) {
          pids.push_back(pid);
        }
      }
    }
  }
  for (const pid_t pid : pids) {
    if (std::optional<ProcessRecord> record = recordProcess(pid)) {
      footprint.processes.push_back(*record);
    }
  }
  return footprint;
}

// The namespaces the mesh's status says it has: the hub and one per instance.
std::vector<std::string> expectedNamespaces(const LocalMesh& mesh) {
  const nlohmann::json status = mesh.status();
  std::vector<std::string> names = {status.value("meshId", "") + "-hub"};
  for (const nlohmann::json& pod : status.value("pods", nlohmann::json::array())) {
    names.push_back(pod.value("netns", ""));
  }
  std::sort(names.begin(), names.end());
  return names;
}

// httpbin answers the sleep workload through both sidecars.
std::string sleepCallsHttpbin(const LocalMesh& mesh) {
  const CommandResult call = mesh.exec(
      "sleep", {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://httpbin:8000/get"},
      30s);
  return call.ok() ? call.out : call.describe();
}

// The environment entry meshctl gives every process of the mesh.
std::string meshMark(const LocalMesh& mesh) {
  return "MESHD_MESH=" + std::filesystem::weakly_canonical(mesh.stateDir()).string();
}

// Nothing of the recorded mesh is left.
void expectGone(const MeshFootprint& footprint, const LocalMesh& mesh) {
  EXPECT_EQ(namespacesWithPrefix(footprint.prefix), std::vector<std::string>{});
  for (const ProcessRecord& process : footprint.processes) {
    EXPECT_FALSE(stillRunning(process)) << process.pid << " still runs: " << process.cmdline;
  }
  EXPECT_EQ(processesMentioning(mesh.stateDir().string()), std::vector<pid_t>{});
  EXPECT_EQ(processesWithEnvironment(meshMark(mesh)), std::vector<pid_t>{});
}

class MeshTeardown : public ::testing::Test {
protected:
  void SetUp() override {
    if (const std::string reason = whyMeshesCannotRun(); !reason.empty()) {
      GTEST_SKIP() << "meshd e2e: skipped: " << reason;
    }
  }
};

TEST_F(MeshTeardown, DownLeavesTheMachineAsItWas) {
  const HostNetwork before = captureHostNetwork();
  LocalMesh mesh;
  const absl::Status up = mesh.up(kMeshFiles);
  ASSERT_TRUE(up.ok()) << up;
  ASSERT_EQ(sleepCallsHttpbin(mesh), "200");

  const MeshFootprint footprint = footprintOf(mesh);
  ASSERT_FALSE(footprint.prefix.empty()) << mesh.status().dump();
  EXPECT_EQ(footprint.namespaces, expectedNamespaces(mesh));
  // supervisor, meshd, and an app and a sidecar for httpbin and sleep (the gateway has no app).
  EXPECT_GE(footprint.processes.size(), 6u);
  EXPECT_GE(processesWithEnvironment(meshMark(mesh)).size(), 6u) << "the mark is what down uses";
  // The capture rules live in the instances' namespaces, not in the host's.
  const std::string sleepNamespace = footprint.prefix + "-default-sleep-0";
  const CommandResult podRules =
      runCommand({"ip", "netns", "exec", sleepNamespace, "iptables-save"});
  EXPECT_NE(podRules.out.find("MESH_OUTPUT"), std::string::npos) << podRules.describe();
  EXPECT_TRUE(captureHostNetwork() == before) << "the host's network changed while the mesh ran";

  const absl::Status down = mesh.down();
  ASSERT_TRUE(down.ok()) << down;
  expectGone(footprint, mesh);
  const HostNetwork after = captureHostNetwork();
  EXPECT_EQ(after.iptables, before.iptables);
  EXPECT_EQ(after.ip6tables, before.ip6tables);
  EXPECT_EQ(after.links, before.links);
  EXPECT_TRUE(directoryEmpty(mesh.stateDir())) << "state left in " << mesh.stateDir();
}

TEST_F(MeshTeardown, UpAfterTheSupervisorWasKilledCleansUpAndWorks) {
  const HostNetwork before = captureHostNetwork();
  LocalMesh mesh;
  absl::Status up = mesh.up(kMeshFiles);
  ASSERT_TRUE(up.ok()) << up;
  const MeshFootprint crashed = footprintOf(mesh);
  ASSERT_FALSE(crashed.processes.empty());
  const ProcessRecord supervisor = crashed.processes.front();
  ASSERT_NE(supervisor.cmdline.find("__supervise"), std::string::npos) << supervisor.cmdline;

  ASSERT_EQ(::kill(supervisor.pid, SIGKILL), 0);
  ASSERT_TRUE(testing::waitFor([&] { return !stillRunning(supervisor); }, 10s));
  // Without its supervisor the rest of the mesh runs on: what the next `up` must clean.
  EXPECT_EQ(namespacesWithPrefix(crashed.prefix), crashed.namespaces);
  size_t orphans = 0;
  for (const ProcessRecord& process : crashed.processes) {
    orphans += stillRunning(process) ? 1 : 0;
  }
  EXPECT_GT(orphans, 0u) << "nothing left to clean: the test would prove nothing";

  up = mesh.up(kMeshFiles);
  ASSERT_TRUE(up.ok()) << up;
  for (const ProcessRecord& process : crashed.processes) {
    EXPECT_FALSE(stillRunning(process)) << process.pid << " survived: " << process.cmdline;
  }
  // One namespace per instance and the hub: none left over, none twice.
  const MeshFootprint restarted = footprintOf(mesh);
  EXPECT_EQ(restarted.prefix, crashed.prefix);
  EXPECT_EQ(restarted.namespaces, expectedNamespaces(mesh));
  EXPECT_EQ(restarted.namespaces.size(), crashed.namespaces.size());
  EXPECT_EQ(sleepCallsHttpbin(mesh), "200");

  const absl::Status down = mesh.down();
  ASSERT_TRUE(down.ok()) << down;
  expectGone(restarted, mesh);
  EXPECT_TRUE(captureHostNetwork() == before);
  EXPECT_TRUE(directoryEmpty(mesh.stateDir()));
}

} // namespace
} // namespace meshd::e2e
