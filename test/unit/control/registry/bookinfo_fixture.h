// Bookinfo (reference/istio-features.md §3.0) as meshd runs it locally: the four Kubernetes
// Services on port 9080 ("http") and one LocalWorkload per deployment, each instance at its own
// loopback address.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "control/config/local_workload.h"
#include "control/registry/instances.h"
#include "test_util.h"

namespace meshd::control::registry::testing {

inline constexpr std::string_view kBookinfoNamespace = "bookinfo";

inline std::string bookinfoYaml() {
  std::string yaml;
  for (std::string_view app : {"productpage", "details", "reviews", "ratings"}) {
    yaml += fmt::format(R"(---
apiVersion: v1
kind: Service
metadata:
  name: {0}
  namespace: bookinfo
  labels: {{app: {0}, service: {0}}}
spec:
  selector: {{app: {0}}}
  ports:
  - {{name: http, port: 9080}}
)",
                        app);
  }
  const std::pair<std::string_view, std::string_view> deployments[] = {
      {"productpage", "v1"}, {"details", "v1"}, {"reviews", "v1"},
      {"reviews", "v2"},     {"reviews", "v3"}, {"ratings", "v1"}};
  for (const auto& [app, version] : deployments) {
    yaml += fmt::format(R"(---
apiVersion: meshd.io/v1alpha1
kind: LocalWorkload
metadata: {{name: {0}-{1}, namespace: bookinfo}}
spec:
  labels: {{app: {0}, version: {1}}}
  serviceAccount: bookinfo-{0}
  ports:
  - {{name: http, port: 9080}}
  command: [./{0}]
)",
                        app, version);
  }
  return yaml;
}

// The instances meshctl would register for Bookinfo's LocalWorkloads: 127.0.0.<n>, n from 10.
inline std::vector<WorkloadInstance>
bookinfoInstances(const std::vector<config::ConfigObject>& objects) {
  std::vector<WorkloadInstance> out;
  int next = 10;
  for (const config::ConfigObject& object : objects) {
    if (object.key.kind != "LocalWorkload") {
      continue;
    }
    std::vector<config::Diagnostic> diagnostics;
    std::optional<config::LocalWorkload> workload = config::parseLocalWorkload(object, diagnostics);
    EXPECT_TRUE(workload.has_value() && diagnostics.empty()) << object.key.toString();
    if (workload) {
      const std::string address = fmt::format("127.0.0.{}", next++);
      for (WorkloadInstance& instance : instancesOf(*workload, std::span(&address, 1))) {
        out.push_back(std::move(instance));
      }
    }
  }
  return out;
}

} // namespace meshd::control::registry::testing
