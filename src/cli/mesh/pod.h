// One instance the supervisor runs (supervisor.h): a workload replica or a gateway, with its
// addresses, processes and where it is in its start-up, and the restart backoff.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>

#include "cli/mesh/mesh_model.h"

namespace meshd::cli::mesh {

using Clock = std::chrono::steady_clock;

// One running copy of a workload (or a gateway) and where it is in its start-up.
struct Pod {
  enum class State { kNew, kProxyStarting, kAppStarting, kRunning, kAppExited, kFailed };
  std::string ns;
  std::string name;
  std::string workload;
  std::string fingerprint;
  WorkloadSpec spec;
  bool gateway = false;
  int index = 0;
  std::string ip;    // the instance's address: its endpoint, where its sidecar receives
  std::string appIp; // where its app listens (netns mode: the same; local mode: its own)
  std::string netns; // empty in local mode
  std::filesystem::path dir;
  std::string nodeId;
  pid_t proxyPid = 0;
  pid_t appPid = 0;
  State state = State::kNew;
  int restarts = 0;
  Clock::time_point retryAt{};
  std::string lastError;
};

inline const char* stateName(Pod::State state) {
  switch (state) {
  case Pod::State::kNew: return "Pending";
  case Pod::State::kProxyStarting: return "WaitingForProxy";
  case Pod::State::kAppStarting: return "Starting";
  case Pod::State::kRunning: return "Running";
  case Pod::State::kAppExited: return "CrashLoopBackOff";
  case Pod::State::kFailed: return "Failed";
  }
  return "Unknown";
}

inline std::chrono::milliseconds backoff(int restarts) {
  return std::chrono::milliseconds(std::min(30000, 500 << std::min(restarts, 6)));
}

} // namespace meshd::cli::mesh
