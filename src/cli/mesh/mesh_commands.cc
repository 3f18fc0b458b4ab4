// meshctl up, down, status, exec and demo (mesh_commands.h).
#include "cli/mesh/mesh_commands.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/config_commands.h"
#include "cli/mesh/mesh_model.h"
#include "cli/mesh/netns_network.h"
#include "cli/mesh/spawn.h"
#include "cli/mesh/state_dir.h"
#include "cli/mesh/supervisor.h"
#include "cli/table.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace meshd::cli {
namespace {

using namespace std::chrono_literals;
using mesh::StateDir;
using Clock = std::chrono::steady_clock;

std::filesystem::path executableDir() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::current_path() : self.parent_path();
}

StateDir stateDirOf(const Context& ctx) {
  return StateDir(ctx.options.stateDir.empty() ? StateDir::defaultPath()
                                               : std::filesystem::path(ctx.options.stateDir));
}

nlohmann::json readStatus(const StateDir& state) {
  absl::StatusOr<std::string> text = mesh::readFile(state.statusFile());
  if (!text.ok()) {
    return nlohmann::json::object();
  }
  nlohmann::json status = nlohmann::json::parse(*text, nullptr, false);
  return status.is_discarded() ? nlohmann::json::object() : status;
}

// Removes what a mesh whose supervisor is gone left behind: processes, namespaces, files.
void cleanLeftovers(const StateDir& state) {
  // Every process the mesh started carries its mark in its environment (also after a crash
  // left no status behind); namespaces go with what still runs in them.
  mesh::stopMarkedProcesses(mesh::kMeshMarkVariable, state.mark(), 2s);
  if (::geteuid() == 0) {
    (void)mesh::NetnsNetwork(state.meshId()).removeAll();
  }
  state.clear();
}

// Starts the supervisor and waits until it reports the mesh's infrastructure ready.
int startSupervisor(Context& ctx, const StateDir& state, const UpOptions& options) {
  if (absl::Status status = state.createLayout(); !status.ok()) {
    return reportError(ctx, status);
  }
  std::error_code ec;
  std::filesystem::remove(state.statusFile(), ec);
  const std::filesystem::path log = state.logDir() / "supervisor.log";
  std::vector<std::string> argv = {(executableDir() / "meshctl").string(),
                                   "__supervise",
                                   "--state-dir",
                                   std::filesystem::absolute(state.root()).string(),
                                   "--mode",
                                   options.mode,
                                   "--ingress-port",
                                   std::to_string(options.ingressPort),
                                   "--xds-port",
                                   std::to_string(options.xdsPort),
                                   "--http-port",
                                   std::to_string(options.httpPort)};
  if (!options.meshConfig.empty()) {
    // The supervisor runs in "/": it gets the absolute path.
    argv.insert(argv.end(),
                {"--mesh-config",
                 std::filesystem::absolute(options.meshConfig).lexically_normal().string()});
  }
  // The supervisor passes the mark on to everything it starts.
  absl::StatusOr<pid_t> pid = mesh::spawnProcess(
      mesh::SpawnSpec{.argv = argv,
                      .env = {{std::string(mesh::kMeshMarkVariable), state.mark()}},
                      .workingDir = "/",
                      .logPath = log.string()});
  if (!pid.ok()) {
    return reportError(ctx, pid.status());
  }
  const auto deadline = Clock::now() + 60s;
  while (Clock::now() < deadline) {
    const nlohmann::json status = readStatus(state);
    if (status.value("ready", false)) {
      return kExitOk;
    }
    if (!status.value("error", "").empty() || !mesh::processAlive(*pid)) {
      ctx.err << "meshctl: the mesh did not start: "
              << status.value("error", std::string("the supervisor exited")) << "\n(see "
              << log.string() << ")\n";
      mesh::stopProcess(*pid, 5s);
      return kExitFailed;
    }
    std::this_thread::sleep_for(100ms);
  }
  ctx.err << "meshctl: the mesh did not start within 60 s (see " << log.string() << ")\n";
  return kExitFailed;
}

// Whether every LocalWorkload replica runs with its sidecar in sync, and every proxy too.
bool meshSettled(Context& ctx, const StateDir& state, std::string& waitingFor) {
  const MeshdCall workloads = callMeshd(ctx, "GET", "/apis/v1/localworkloads");
  const MeshdCall syncz = callMeshd(ctx, "GET", "/debug/syncz");
  if (!workloads || !syncz || workloads->status != 200 || syncz->status != 200) {
    waitingFor = "meshd";
    return false;
  }
  const nlohmann::json status = readStatus(state);
  const nlohmann::json podList = status.value("pods", nlohmann::json::array());
  std::map<std::string, const nlohmann::json*> pods;
  for (const nlohmann::json& pod : podList) {
    pods[pod.value("namespace", "") + "/" + pod.value("name", "")] = &pod;
  }
  for (const mesh::WorkloadSpec& workload : mesh::workloadsFromList(workloads->body)) {
    for (int i = 0; i < workload.replicas; ++i) {
      const std::string key = workload.ns + "/" + mesh::instanceName(workload, i);
      auto pod = pods.find(key);
      if (pod == pods.end() || pod->second->value("state", "") != "Running") {
        waitingFor = key + (pod == pods.end() ? " (not started)"
                                              : " (" + pod->second->value("state", "") + ")");
        return false;
      }
    }
  }
  size_t streams = 0;
  for (const nlohmann::json& stream : syncz->body) {
    ++streams;
    if (!stream.value("in_sync", false)) {
      waitingFor = "proxy " + stream.value("node_id", "") + " to be in sync";
      return false;
    }
  }
  if (streams < pods.size()) {
    waitingFor = "every proxy to connect";
    return false;
  }
  return true;
}

void printSummary(Context& ctx, const StateDir& state) {
  const nlohmann::json status = readStatus(state);
  size_t running = 0;
  size_t workloads = 0;
  for (const nlohmann::json& pod : status.value("pods", nlohmann::json::array())) {
    if (!pod.value("gateway", false)) {
      ++workloads;
      running += pod.value("state", "") == "Running" ? 1 : 0;
    }
  }
  const nlohmann::json meshd = status.value("meshd", nlohmann::json::object());
  ctx.out << fmt::format("mesh up ({} mode, state in {})\n", status.value("mode", ""),
                         state.root().string());
  ctx.out << fmt::format("  meshd            {}  (REST API, /metrics, /debug/syncz; xDS on {})\n",
                         meshd.value("http", ""), meshd.value("xds", ""));
  ctx.out << fmt::format("  ingress gateway  http://{}\n", status.value("ingress", ""));
  ctx.out << fmt::format("  workloads        {} of {} running, every proxy in sync\n", running,
                         workloads);
}

std::string defaultMode() {
  return ::geteuid() == 0 ? "netns" : "local";
}

} // namespace

int runUp(Context& ctx, const UpOptions& given, std::istream& in) {
  UpOptions options = given;
  if (options.mode.empty()) {
    options.mode = defaultMode();
  }
  const StateDir state = stateDirOf(ctx);
  if (state.runningSupervisor() == 0) {
    cleanLeftovers(state);
    if (const int code = startSupervisor(ctx, state, options); code != kExitOk) {
      return code;
    }
  } else if (!options.meshConfig.empty()) {
    ctx.err << "meshctl: the mesh already runs: --mesh-config is ignored (meshd watches the file "
               "it was started with; edit that one)\n";
  }
  ctx.options.stateDir = state.root().string();
  ctx.options.meshd.clear();
  ctx.options.meshd = resolveMeshdAddress(ctx.options, nullptr);
  if (!options.files.empty()) {
    if (const int code = runApply(ctx, ApplyOptions{.files = options.files}, in); code != kExitOk) {
      return code;
    }
  }
  const auto deadline = Clock::now() + std::chrono::seconds(options.timeoutSeconds);
  std::string waitingFor;
  while (!meshSettled(ctx, state, waitingFor)) {
    if (Clock::now() >= deadline) {
      ctx.err << "meshctl: the mesh is up but not settled after " << options.timeoutSeconds
              << " s: waiting for " << waitingFor << " (see 'meshctl status' and the logs in "
              << state.root().string() << ")\n";
      return kExitFailed;
    }
    std::this_thread::sleep_for(200ms);
  }
  printSummary(ctx, state);
  return kExitOk;
}

int runDown(Context& ctx) {
  const StateDir state = stateDirOf(ctx);
  const pid_t supervisor = state.runningSupervisor();
  if (supervisor != 0) {
    ::kill(supervisor, SIGTERM);
    const auto deadline = Clock::now() + 60s;
    while (mesh::processAlive(supervisor) && Clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
    }
    if (mesh::processAlive(supervisor)) {
      ::kill(supervisor, SIGKILL);
    }
  }
  cleanLeftovers(state);
  ctx.out << (supervisor != 0 ? "mesh stopped and removed\n" : "no mesh was running; cleaned up\n");
  return kExitOk;
}

int runStatus(Context& ctx) {
  const StateDir state = stateDirOf(ctx);
  if (state.runningSupervisor() == 0) {
    ctx.err << "meshctl: no mesh runs with state in " << state.root().string()
            << " (start one with 'meshctl up')\n";
    return kExitFailed;
  }
  const nlohmann::json status = readStatus(state);
  if (ctx.options.output == "json") {
    ctx.out << status.dump(2) << "\n";
    return kExitOk;
  }
  printSummary(ctx, state);
  Table table({"NAMESPACE", "NAME", "WORKLOAD", "IP", "STATE", "PROXY", "RESTARTS"});
  for (const nlohmann::json& pod : status.value("pods", nlohmann::json::array())) {
    table.addRow({pod.value("namespace", ""), pod.value("name", ""), pod.value("workload", ""),
                  pod.value("ip", ""), pod.value("state", ""),
                  pod.value("proxyInSync", false) ? "SYNCED" : "NOT SYNCED",
                  std::to_string(pod.value("restarts", 0))});
  }
  ctx.out << "\n" << table.render();
  return kExitOk;
}

int runExec(Context& ctx, const ExecOptions& options) {
  const StateDir state = stateDirOf(ctx);
  const nlohmann::json status = readStatus(state);
  const nlohmann::json podList = status.value("pods", nlohmann::json::array());
  const nlohmann::json* match = nullptr;
  for (const nlohmann::json& pod : podList) {
    const bool named =
        pod.value("name", "") == options.workload || pod.value("workload", "") == options.workload;
    const bool inNamespace = ctx.options.allNamespaces || ctx.options.ns == "default" ||
                             pod.value("namespace", "") == ctx.options.ns;
    if (named && inNamespace && (match == nullptr || pod.value("name", "") == options.workload)) {
      match = &pod;
    }
  }
  if (match == nullptr) {
    ctx.err << "meshctl: no running workload or instance named '" << options.workload
            << "' (see 'meshctl status')\n";
    return kExitFailed;
  }
  const std::filesystem::path dir = match->value("dir", "");
  mesh::SpawnSpec spec{.argv = options.command,
                       .env = {{"POD_NAME", match->value("name", "")},
                               {"POD_NAMESPACE", match->value("namespace", "")},
                               {"POD_IP", match->value("ip", "")}},
                       .netns = match->value("netns", "")};
  if (!spec.netns.empty()) {
    spec.hostsFile = (dir / "hosts").string();
    spec.resolvFile = (dir / "resolv.conf").string();
  } else {
    // Local mode: the workload's calls go through its sidecar as their HTTP proxy.
    for (const char* name : {"http_proxy", "HTTP_PROXY"}) {
      spec.env[name] = match->value("httpProxy", "");
    }
    spec.env["no_proxy"] = "";
    spec.env["NO_PROXY"] = "";
  }
  ctx.out.flush();
  const absl::Status failure = mesh::execInPlace(spec);
  ctx.err << "meshctl: " << failure.message() << "\n";
  return kExitFailed;
}

int runDemo(Context& ctx, const DemoOptions& options, std::istream& in) {
  std::vector<std::filesystem::path> candidates;
  if (const char* dir = std::getenv("MESHD_SAMPLES_DIR"); dir != nullptr && *dir != '\0') {
    candidates.emplace_back(dir);
  }
  candidates.push_back(executableDir() / ".." / ".." / "samples");        // build/bin
  candidates.push_back(executableDir() / ".." / ".." / ".." / "samples"); // build/<preset>/bin
  candidates.push_back(executableDir() / ".." / "share" / "meshd" / "samples");
  candidates.push_back(std::filesystem::current_path() / "samples");
  std::filesystem::path samples;
  for (const std::filesystem::path& candidate : candidates) {
    if (std::filesystem::exists(candidate / "bookinfo" / "platform" / "bookinfo.yaml")) {
      samples = candidate.lexically_normal();
      break;
    }
  }
  if (samples.empty()) {
    ctx.err << "meshctl: cannot find the samples (set MESHD_SAMPLES_DIR to the repo's samples/)\n";
    return kExitFailed;
  }
  UpOptions up = options.up;
  up.files = {(samples / "bookinfo" / "platform" / "bookinfo.yaml").string(),
              (samples / "bookinfo" / "networking" / "bookinfo-gateway.yaml").string(),
              (samples / "bookinfo" / "networking" / "destination-rule-all.yaml").string()};
  if (const int code = runUp(ctx, up, in); code != kExitOk) {
    return code;
  }
  const nlohmann::json status = readStatus(stateDirOf(ctx));
  ctx.out << "\nBookinfo is up: open http://" << status.value("ingress", "") << "/productpage\n";
  if (options.detach) {
    ctx.out << "(stop it with 'meshctl down')\n";
    return kExitOk;
  }
  ctx.out << "Press Ctrl-C to stop the mesh.\n";
  ctx.out.flush();
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &signals, nullptr);
  int received = 0;
  ::sigwait(&signals, &received);
  ctx.out << "\nstopping the mesh...\n";
  return runDown(ctx);
}

int runSupervise(const UpOptions& options, const std::string& stateDir) {
  return mesh::runSupervisor(mesh::SupervisorOptions{.stateDir = stateDir,
                                                     .mode = options.mode,
                                                     .ingressPort = options.ingressPort,
                                                     .xdsPort = options.xdsPort,
                                                     .httpPort = options.httpPort,
                                                     .binDir = executableDir(),
                                                     .meshConfig = options.meshConfig});
}

} // namespace meshd::cli
