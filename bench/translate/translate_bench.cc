// Translation cost at scale (issue: meshd translation benchmark): a mesh of N services (each a
// Kubernetes Service over a LocalWorkload with two instances, a DestinationRule with two subsets
// and a VirtualService splitting 90/10 between them) is built into a MeshSnapshot and translated
// for one sidecar that sees every service. Prints the snapshot build time, one full translation,
// one endpoint change translated in full (withInstances + translation) and the same change
// through MeshResourceProvider's endpoint-only path (withInstances + setSnapshot + the update
// that regenerates only the changed service's ClusterLoadAssignments), the resources' count and
// size, and the process RSS before and after — medians of several runs. A measurement, not a
// test.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "control/config/object_parser.h"
#include "control/model/mesh_snapshot.h"
#include "control/registry/instances.h"
#include "control/serve/mesh_resource_provider.h"
#include "control/translate/translator.h"
#include "fmt/format.h"

namespace {

using meshd::control::config::ConfigObject;
using meshd::control::registry::WorkloadInstance;
using Clock = std::chrono::steady_clock;

double rssMiB() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stod(line.substr(6)) / 1024.0;
    }
  }
  return 0;
}

std::string meshYaml(int services) {
  std::string out;
  for (int i = 0; i < services; ++i) {
    out += fmt::format(R"(apiVersion: v1
kind: Service
metadata: {{name: svc{0}, namespace: default}}
spec:
  selector: {{app: svc{0}}}
  ports: [{{name: http, port: 9080}}]
---
apiVersion: meshd.io/v1alpha1
kind: LocalWorkload
metadata: {{name: svc{0}-v1, namespace: default}}
spec:
  labels: {{app: svc{0}, version: v1}}
  ports: [{{name: http, port: 9080}}]
  command: [sleep, "1"]
  replicas: 2
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: svc{0}, namespace: default}}
spec:
  host: svc{0}
  subsets: [{{name: v1, labels: {{version: v1}}}}, {{name: v2, labels: {{version: v2}}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: svc{0}, namespace: default}}
spec:
  hosts: [svc{0}]
  http:
  - route:
    - {{destination: {{host: svc{0}, subset: v1}}, weight: 90}}
    - {{destination: {{host: svc{0}, subset: v2}}, weight: 10}}
---
)",
                       i);
  }
  return out;
}

std::vector<WorkloadInstance> instancesFor(int services, int generation) {
  std::vector<WorkloadInstance> out;
  for (int i = 0; i < services; ++i) {
    for (int r = 0; r < 2; ++r) {
      WorkloadInstance instance;
      instance.name = fmt::format("svc{}-v1-{}", i, r);
      instance.ns = "default";
      instance.labels = {{"app", fmt::format("svc{}", i)}, {"version", "v1"}};
      // Generation moves one instance of service 0: the endpoint change measured.
      const int moved = i == 0 && r == 0 ? generation : 0;
      instance.address = fmt::format("10.{}.{}.{}", (i >> 8) & 255, i & 255, 10 + r + moved);
      instance.namedPorts = {{"http", 9080}};
      out.push_back(std::move(instance));
    }
  }
  return out;
}

double medianMs(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

size_t bytesOf(const meshd::control::translate::ProxyResources& resources) {
  size_t bytes = 0;
  for (const auto& r : resources.clusters)
    bytes += r.ByteSizeLong();
  for (const auto& r : resources.endpoints)
    bytes += r.ByteSizeLong();
  for (const auto& r : resources.listeners)
    bytes += r.ByteSizeLong();
  for (const auto& r : resources.routes)
    bytes += r.ByteSizeLong();
  return bytes;
}

void run(int services, int repetitions) {
  const std::string yaml = meshYaml(services);
  auto parsed = meshd::control::config::parseObjects(yaml, "bench.yaml");
  if (!parsed.diagnostics.empty()) {
    std::fprintf(stderr, "%s\n", parsed.diagnostics[0].toString().c_str());
    return;
  }
  meshd::control::model::MeshConfig mesh;
  mesh.enableAutoMtls = false;
  envoy::config::core::v3::Node node;
  node.set_id("sidecar~10.255.0.1~client-0.default~default.svc.cluster.local");
  const auto proxy = meshd::control::translate::ProxyContext::fromNode(node);

  const double rssBefore = rssMiB();
  std::vector<double> build;
  std::vector<double> translateAll;
  std::vector<double> endpointChange;
  std::vector<double> endpointUpdate;
  std::shared_ptr<const meshd::control::model::MeshSnapshot> snapshot;
  meshd::control::translate::ProxyResources resources;
  for (int rep = 0; rep < repetitions; ++rep) {
    std::vector<meshd::control::config::Diagnostic> diagnostics;
    auto start = Clock::now();
    snapshot = meshd::control::model::MeshSnapshot::build(parsed.objects, instancesFor(services, 0),
                                                          mesh, diagnostics);
    build.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    start = Clock::now();
    resources = meshd::control::translate::translate(*snapshot, proxy);
    translateAll.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    start = Clock::now();
    const auto changed = snapshot->withInstances(instancesFor(services, rep + 1));
    const auto after = meshd::control::translate::translate(*changed, proxy);
    endpointChange.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - start).count());

    // The same change on the serving path: the provider holds the full translation of
    // `snapshot`, then gets the endpoint-only successor and updates the proxy's resources.
    meshd::control::serve::MeshResourceProvider provider;
    provider.setSnapshot(snapshot);
    provider.snapshotFor(node);
    start = Clock::now();
    provider.setSnapshot(snapshot->withInstances(instancesFor(services, rep + 1)));
    const auto updated = provider.snapshotFor(node);
    endpointUpdate.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (updated == nullptr || provider.endpointTranslations() != 1) {
      std::fprintf(stderr, "the endpoint change did not take the endpoint-only path\n");
    }
  }
  const double rssAfter = rssMiB();
  std::printf(
      "| %d | %.1f ms | %.1f ms | %.1f ms | %.2f ms | %zu / %zu / %zu / %zu | %.1f MiB | %.1f MiB "
      "|\n",
      services, medianMs(build), medianMs(translateAll), medianMs(endpointChange),
      medianMs(endpointUpdate), resources.clusters.size(), resources.endpoints.size(),
      resources.listeners.size(), resources.routes.size(),
      static_cast<double>(bytesOf(resources)) / (1 << 20), rssAfter - rssBefore);
  std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {1000, 10000};
  if (argc > 1) {
    sizes.clear();
    for (int i = 1; i < argc; ++i) {
      sizes.push_back(std::stoi(argv[i]));
    }
  }
  std::printf(
      "| services | snapshot build | translate one sidecar | endpoint change, full (snapshot "
      "+ translate) | endpoint change, endpoint-only update (snapshot + update) | clusters "
      "/ endpoints / listeners / routes | resources size | RSS growth "
      "|\n|---|---|---|---|---|---|---|---|\n");
  std::fflush(stdout);
  for (const int services : sizes) {
    run(services, services >= 10000 ? 3 : 5);
  }
  return 0;
}
