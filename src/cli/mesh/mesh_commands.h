// meshctl up, down, status, exec and demo: a mesh on one machine (docs/local-mesh.md).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "cli/meshd_client.h"

namespace meshd::cli {

struct UpOptions {
  std::vector<std::string> files;
  std::string mode; // netns or local; default netns as root, else local
  int ingressPort = 8080;
  int xdsPort = 15010;
  int httpPort = 15014;
  int timeoutSeconds = 180;
  // meshd's --mesh-config (an Istio MeshConfig file); "" none. Used when `up` starts the mesh.
  std::string meshConfig;
};
int runUp(Context& ctx, const UpOptions& options, std::istream& in);

int runDown(Context& ctx);

int runStatus(Context& ctx);

struct ExecOptions {
  std::string workload; // a workload or instance name
  std::vector<std::string> command;
};
// Replaces meshctl with the command (returns only on failure).
int runExec(Context& ctx, const ExecOptions& options);

struct DemoOptions {
  UpOptions up;
  bool detach = false;
};
int runDemo(Context& ctx, const DemoOptions& options, std::istream& in);

// The hidden `__supervise` command that `up` starts in the background.
int runSupervise(const UpOptions& options, const std::string& stateDir);

} // namespace meshd::cli
