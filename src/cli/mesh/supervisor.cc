// The local mesh's supervisor (supervisor.h).
#include "cli/mesh/supervisor.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <thread>
#include <tuple>

#include "absl/status/statusor.h"
#include "cli/http_client.h"
#include "cli/mesh/mesh_model.h"
#include "cli/mesh/netns_network.h"
#include "cli/mesh/netns_relay.h"
#include "cli/mesh/pod.h"
#include "cli/mesh/spawn.h"
#include "cli/mesh/state_dir.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace meshd::cli::mesh {
namespace {

using namespace std::chrono_literals;

std::atomic<bool> stopRequested{false};

void onStopSignal(int) {
  stopRequested = true;
}

constexpr int kProxyAdminPort = 15000;
constexpr const char* kInstancesPath = "/apis/meshd.io/v1alpha1/instances";
constexpr const char* kGatewayNamespace = "istio-system";

void logLine(const std::string& text) {
  std::cout << text << std::endl;
}

class Supervisor {
public:
  explicit Supervisor(SupervisorOptions options)
      : options_(std::move(options)), state_(options_.stateDir), network_(state_.meshId()) {}

  int run() {
    if (absl::Status status = start(); !status.ok()) {
      logLine(fmt::format("meshctl supervisor: {}", std::string(status.message())));
      failure_ = std::string(status.message());
      teardown();
      writeStatus(); // after the teardown, which removes the status: `up` reads the error here
      return 1;
    }
    ready_ = true;
    logLine("mesh ready");
    while (!stopRequested) {
      tick();
      std::this_thread::sleep_for(250ms);
    }
    teardown();
    return 0;
  }

private:
  absl::Status start() {
    if (absl::Status status = state_.createLayout(); !status.ok()) {
      return status;
    }
    if (absl::Status status =
            writeFileAtomically(state_.supervisorPidFile(), std::to_string(::getpid()));
        !status.ok()) {
      return status;
    }
    if (netnsMode()) {
      if (absl::Status status = netnsModeAvailable(); !status.ok()) {
        return status;
      }
      // What a crashed run left behind goes first.
      (void)network_.removeAll();
      if (absl::Status status = network_.createHub(); !status.ok()) {
        return status;
      }
    }
    if (absl::Status status = startMeshd(); !status.ok()) {
      return status;
    }
    if (netnsMode()) {
      absl::StatusOr<std::unique_ptr<NetnsRelay>> xds = NetnsRelay::start(
          {network_.hubNamespace(), kHubAddress, 15010}, {"", "127.0.0.1", meshdXdsPort_});
      if (!xds.ok()) {
        return xds.status();
      }
      xdsRelay_ = std::move(*xds);
      logLine(fmt::format("xds relay {}", xdsRelay_->describe()));
    }
    // Istio's demo profile: an ingress and an egress gateway, with Istio's labels so that users'
    // Gateway selectors work unchanged.
    for (const auto& [kind, ip, localIp, link] :
         {std::tuple{"ingress", kGatewayAddress, kLocalGatewayAddress, 0},
          std::tuple{"egress", kEgressGatewayAddress, kLocalEgressGatewayAddress, -1}}) {
      auto gateway = std::make_unique<Pod>();
      gateway->ns = kGatewayNamespace;
      gateway->name = fmt::format("istio-{}gateway", kind);
      gateway->workload = gateway->name;
      gateway->gateway = true;
      gateway->index = link;
      gateway->ip = netnsMode() ? ip : localIp;
      gateway->appIp = gateway->ip;
      gateway->spec.labels = {{"istio", fmt::format("{}gateway", kind)}, {"app", gateway->name}};
      gateway->spec.serviceAccount = gateway->name + "-service-account";
      gateway->netns = netnsMode() ? network_.podNamespace(gateway->ns, gateway->name) : "";
      gateway->dir = state_.podDir(gateway->ns + "-" + gateway->name);
      gateway->nodeId = nodeIdOf("router", gateway->ip, gateway->name, gateway->ns);
      if (absl::Status status = createPodNetwork(*gateway, /*capture=*/false); !status.ok()) {
        return status;
      }
      if (absl::Status status = startProxy(*gateway); !status.ok()) {
        return status;
      }
      // The gateway is an endpoint of its Service (below), as its pod is in Istio.
      registerInstance(*gateway, /*healthy=*/true);
      gateways_.push_back(std::move(gateway));
    }
    absl::StatusOr<HttpResponse> applied = httpRequest(
        meshd_, "POST", "/apis/v1/apply?file=meshctl-gateways.yaml", gatewayServicesYaml(), 5s);
    if (!applied.ok() || applied->status != 200) {
      return absl::InternalError(
          fmt::format("meshd refused the gateways' Services: {}",
                      applied.ok() ? applied->body : std::string(applied.status().message())));
    }
    const Pod& ingressGateway = *gateways_.front();
    absl::StatusOr<std::unique_ptr<NetnsRelay>> ingress =
        NetnsRelay::start({"", "127.0.0.1", static_cast<uint16_t>(options_.ingressPort)},
                          {ingressGateway.netns, ingressGateway.ip, 8080});
    if (!ingress.ok()) {
      return ingress.status();
    }
    ingressRelay_ = std::move(*ingress);
    logLine(fmt::format("ingress relay {}", ingressRelay_->describe()));
    writeStatus();
    return absl::OkStatus();
  }

  absl::Status startMeshd() {
    const std::filesystem::path log = state_.logDir() / "meshd.log";
    std::error_code ec;
    std::filesystem::remove(log, ec);
    std::vector<std::string> argv = {(options_.binDir / "meshd").string(),
                                     "--config-dir",
                                     state_.configDir().string(),
                                     "--listen-address",
                                     "127.0.0.1",
                                     "--xds-port",
                                     std::to_string(options_.xdsPort),
                                     "--http-port",
                                     std::to_string(options_.httpPort)};
    if (!options_.meshConfig.empty()) {
      argv.insert(argv.end(), {"--mesh-config", options_.meshConfig.string()});
    }
    absl::StatusOr<pid_t> pid = spawnProcess(SpawnSpec{.argv = argv, .logPath = log.string()});
    if (!pid.ok()) {
      return pid.status();
    }
    meshdPid_ = *pid;
    // meshd prints the ports it bound (port 0 picks one).
    const std::regex xdsLine(R"(xds listening on 127\.0\.0\.1:(\d+))");
    const std::regex httpLine(R"(http listening on 127\.0\.0\.1:(\d+))");
    const auto deadline = Clock::now() + 30s;
    while (Clock::now() < deadline) {
      const std::string text = readFile(log).value_or("");
      std::smatch xds;
      std::smatch http;
      if (std::regex_search(text, xds, xdsLine) && std::regex_search(text, http, httpLine)) {
        meshdXdsPort_ = static_cast<uint16_t>(std::stoi(xds[1]));
        meshd_ = HttpEndpoint{"127.0.0.1", static_cast<uint16_t>(std::stoi(http[1]))};
        break;
      }
      if (!processAlive(meshdPid_)) {
        return absl::UnavailableError(
            fmt::format("meshd exited at start; see {}:\n{}", log.string(), text));
      }
      std::this_thread::sleep_for(50ms);
    }
    if (meshd_.port == 0) {
      return absl::DeadlineExceededError(
          fmt::format("meshd did not report its ports within 30 s; see {}", log.string()));
    }
    while (Clock::now() < deadline) {
      absl::StatusOr<HttpResponse> ready = httpRequest(meshd_, "GET", "/ready", {}, 2s);
      if (ready.ok() && ready->status == 200) {
        logLine(
            fmt::format("meshd ready: http {} xds 127.0.0.1:{}", meshd_.toString(), meshdXdsPort_));
        return writeFileAtomically(state_.meshdAddressFile(), meshd_.toString() + "\n");
      }
      std::this_thread::sleep_for(100ms);
    }
    return absl::DeadlineExceededError("meshd did not become ready within 30 s");
  }

  bool netnsMode() const { return options_.mode == "netns"; }

  absl::Status createPodNetwork(Pod& pod, bool capture) {
    std::error_code ec;
    std::filesystem::create_directories(pod.dir, ec);
    if (!netnsMode()) {
      // Local mode: the proxy shares the host's network, binds its own loopback address and
      // fronts the app, which the app reaches as its HTTP proxy.
      std::map<std::string, std::string> metadata = {{"INTERCEPTION_MODE", "NONE"}};
      if (!pod.gateway) {
        metadata["MESHD_APP_ADDRESS"] = pod.appIp;
        metadata["MESHD_EXPLICIT_PROXY_PORT"] = std::to_string(kProxyOutboundPort);
      }
      return writeFileAtomically(
          pod.dir / "bootstrap.yaml",
          proxyBootstrap("127.0.0.1", meshdXdsPort_, pod.ip, kProxyAdminPort, metadata));
    }
    if (absl::Status status = network_.addPod(pod.netns, pod.ip, pod.index + 1, capture);
        !status.ok()) {
      return status;
    }
    if (absl::Status status = rewriteInPlace(
            pod.dir / "hosts", hostsFileFor(pod.ip, pod.name, pod.ns, services_, entryHosts_));
        !status.ok()) {
      return status;
    }
    if (absl::Status status = rewriteInPlace(pod.dir / "resolv.conf", isolatedResolvConf(pod.ns));
        !status.ok()) {
      return status;
    }
    std::filesystem::create_directories(bootstrapPath(pod).parent_path(), ec);
    return writeFileAtomically(
        bootstrapPath(pod),
        proxyBootstrap(kHubAddress, xdsRelay_->listenPort(), "127.0.0.1", kProxyAdminPort, {}));
  }

  // Where a proxy's bootstrap is. In netns mode proxies run as uid 1337, which may not be able to
  // reach into the state dir (under root's home by default), so it goes to the mesh's runtime
  // dir (world-readable, under /run).
  std::filesystem::path bootstrapPath(const Pod& pod) const {
    return netnsMode() ? state_.runtimeDir() / pod.dir.filename() / "bootstrap.yaml"
                       : pod.dir / "bootstrap.yaml";
  }

  // Runs the process in the pod's network namespace, with the pod's /etc/hosts and resolv.conf.
  static void insidePod(SpawnSpec& spec, const Pod& pod) {
    spec.netns = pod.netns;
    spec.hostsFile = (pod.dir / "hosts").string();
    spec.resolvFile = (pod.dir / "resolv.conf").string();
  }

  absl::Status startProxy(Pod& pod) {
    std::vector<std::string> argv = {(options_.binDir / "mesh-proxy").string(),
                                     "-c",
                                     bootstrapPath(pod).string(),
                                     "--proxy-type",
                                     pod.gateway ? "router" : "sidecar",
                                     "--namespace",
                                     pod.ns,
                                     "--workload",
                                     pod.workload,
                                     "--pod-name",
                                     pod.name,
                                     "--service-account",
                                     pod.spec.serviceAccount,
                                     "--ip",
                                     pod.ip,
                                     "--concurrency",
                                     "1",
                                     "--drain-time-s",
                                     "1",
                                     "-l",
                                     options_.proxyLogLevel};
    for (const auto& [key, value] : pod.spec.labels) {
      argv.push_back("--label");
      argv.push_back(key + "=" + value);
    }
    SpawnSpec spec{.argv = argv, .logPath = (pod.dir / "proxy.log").string()};
    if (netnsMode()) {
      insidePod(spec, pod);
      spec.uid = kProxyUid; // its own traffic is not captured
      spec.gid = kProxyGid;
    }
    absl::StatusOr<pid_t> pid = spawnProcess(spec);
    if (!pid.ok()) {
      return pid.status();
    }
    pod.proxyPid = *pid;
    return absl::OkStatus();
  }

  absl::Status startApp(Pod& pod) {
    std::map<std::string, std::string> env = pod.spec.env;
    env["POD_NAME"] = pod.name;
    env["POD_NAMESPACE"] = pod.ns;
    env["POD_IP"] = pod.ip;
    env["SERVICE_ACCOUNT"] = pod.spec.serviceAccount;
    env["BIND_ADDRESS"] = netnsMode() ? "0.0.0.0" : pod.appIp;
    env["HOSTNAME"] = pod.name;
    for (const auto& [name, value] : proxyEnvironment(pod)) {
      env[name] = value;
    }
    SpawnSpec spec{.argv = pod.spec.command,
                   .env = env,
                   .workingDir = pod.spec.workingDir,
                   .logPath = (pod.dir / "app.log").string()};
    if (netnsMode()) {
      insidePod(spec, pod);
    }
    absl::StatusOr<pid_t> pid = spawnProcess(spec);
    if (!pid.ok()) {
      return pid.status();
    }
    pod.appPid = *pid;
    return absl::OkStatus();
  }

  // Netns mode: no proxy variables (capture does it). Local mode: the sidecar is the HTTP proxy.
  std::map<std::string, std::string> proxyEnvironment(const Pod& pod) const {
    const std::string proxy =
        netnsMode() ? "" : fmt::format("http://{}:{}", pod.ip, kProxyOutboundPort);
    std::map<std::string, std::string> env;
    for (const char* name : {"http_proxy", "HTTP_PROXY"}) {
      env[name] = proxy;
    }
    for (const char* name :
         {"https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"}) {
      env[name] = "";
    }
    return env;
  }

  // Registers (or updates) the pod as a workload instance in meshd.
  void registerInstance(const Pod& pod, bool healthy) {
    nlohmann::json namedPorts = nlohmann::json::object();
    for (const WorkloadPort& port : pod.spec.ports) {
      if (!port.name.empty()) {
        namedPorts[port.name] = port.port;
      }
    }
    const nlohmann::json body = {{"address", pod.ip},
                                 {"labels", pod.spec.labels},
                                 {"serviceAccount", pod.spec.serviceAccount},
                                 {"namedPorts", namedPorts},
                                 {"healthy", healthy},
                                 {"workload", pod.workload}};
    absl::StatusOr<HttpResponse> response = httpRequest(
        meshd_, "PUT", fmt::format("{}/{}/{}", kInstancesPath, pod.ns, pod.name), body.dump(), 5s);
    if (!response.ok() || response->status != 200) {
      logLine(
          fmt::format("registering {}/{} failed: {}", pod.ns, pod.name,
                      response.ok() ? response->body : std::string(response.status().message())));
    }
  }

  void deregisterInstance(const Pod& pod) {
    (void)httpRequest(meshd_, "DELETE", fmt::format("{}/{}/{}", kInstancesPath, pod.ns, pod.name),
                      {}, 5s);
  }

  void tick() {
    reapChildren();
    absl::StatusOr<nlohmann::json> workloads = getJson("/apis/v1/localworkloads");
    absl::StatusOr<nlohmann::json> services = getJson("/apis/v1/services");
    absl::StatusOr<nlohmann::json> syncz = getJson("/debug/syncz");
    absl::StatusOr<nlohmann::json> entries = getJson("/apis/v1/serviceentries");
    if (!workloads.ok() || !services.ok() || !syncz.ok() || !entries.ok()) {
      writeStatus();
      return;
    }
    entryHosts_ = serviceEntryHostsFromList(*entries);
    allocateClusterIps(*services);
    inSync_.clear();
    if (syncz->is_array()) {
      for (const nlohmann::json& stream : *syncz) {
        if (stream.is_object() && stream.value("in_sync", false)) {
          inSync_.insert(stream.value("node_id", ""));
        }
      }
    }
    reconcile(workloadsFromList(*workloads));
    for (auto& [key, pod] : pods_) {
      (void)rewriteInPlace(pod->dir / "hosts",
                           hostsFileFor(pod->ip, pod->name, pod->ns, services_, entryHosts_));
      advance(*pod);
    }
    keepGatewaysRunning();
    writeStatus();
  }

  absl::StatusOr<nlohmann::json> getJson(const std::string& target) {
    absl::StatusOr<HttpResponse> response = httpRequest(meshd_, "GET", target, {}, 5s);
    if (!response.ok()) {
      return response.status();
    }
    if (response->status != 200) {
      return absl::UnavailableError(fmt::format("GET {}: {}", target, response->status));
    }
    nlohmann::json body = nlohmann::json::parse(response->body, nullptr, false);
    if (body.is_discarded()) {
      return absl::InternalError(fmt::format("GET {}: not JSON", target));
    }
    return body;
  }

  // Services without a cluster IP get one written back, as Kubernetes allocates it on create.
  void allocateClusterIps(const nlohmann::json& list) {
    services_ = servicesFromList(list);
    std::set<std::string> taken;
    for (const ServiceAddress& service : services_) {
      taken.insert(service.clusterIp);
    }
    for (const nlohmann::json& item : list.value("items", nlohmann::json::array())) {
      nlohmann::json spec = item.value("spec", nlohmann::json::object());
      if (!spec.value("clusterIP", std::string()).empty() || !item.contains("metadata")) {
        continue;
      }
      const std::string ns = item["metadata"].value("namespace", "default");
      const std::string name = item["metadata"].value("name", "");
      const std::string ip = allocateClusterIp(ns, name, taken);
      if (ip.empty()) {
        continue;
      }
      taken.insert(ip);
      nlohmann::json updated = item;
      updated["spec"]["clusterIP"] = ip;
      absl::StatusOr<HttpResponse> response =
          httpRequest(meshd_, "PUT", fmt::format("/apis/v1/namespaces/{}/services/{}", ns, name),
                      updated.dump(), 5s);
      if (response.ok() && response->status == 200) {
        logLine(fmt::format("service {}/{}: cluster IP {}", ns, name, ip));
        for (ServiceAddress& service : services_) {
          if (service.ns == ns && service.name == name) {
            service.clusterIp = ip;
          }
        }
      }
    }
  }

  void reconcile(const std::vector<WorkloadSpec>& workloads) {
    std::map<std::string, const WorkloadSpec*> desired;
    std::map<std::string, int> replicaOf;
    for (const WorkloadSpec& workload : workloads) {
      for (int i = 0; i < workload.replicas; ++i) {
        const std::string key = workload.ns + "/" + instanceName(workload, i);
        desired[key] = &workload;
        replicaOf[key] = i;
      }
    }
    for (auto it = pods_.begin(); it != pods_.end();) {
      auto wanted = desired.find(it->first);
      if (wanted == desired.end() || wanted->second->fingerprint != it->second->fingerprint) {
        logLine(fmt::format("stopping {}", it->first));
        stopPod(*it->second);
        it = pods_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& [key, workload] : desired) {
      if (pods_.contains(key)) {
        continue;
      }
      auto pod = std::make_unique<Pod>();
      pod->ns = workload->ns;
      pod->name = instanceName(*workload, replicaOf[key]);
      pod->workload = workload->name;
      pod->fingerprint = workload->fingerprint;
      pod->spec = *workload;
      pod->index = takeIndex();
      pod->ip = netnsMode() ? podAddress(pod->index) : localPodAddress(pod->index);
      pod->appIp = netnsMode() ? pod->ip : localAppAddress(pod->index);
      pod->netns = netnsMode() ? network_.podNamespace(pod->ns, pod->name) : "";
      pod->dir = state_.podDir(pod->ns + "-" + pod->name);
      pod->nodeId = nodeIdOf("sidecar", pod->ip, pod->name, pod->ns);
      logLine(fmt::format("starting {} at {}", key, pod->ip));
      pods_[key] = std::move(pod);
    }
  }

  int takeIndex() {
    // Index 0 is never a pod's: the gateway's link uses it.
    for (int index = 1;; ++index) {
      if (!usedIndexes_.contains(index)) {
        usedIndexes_.insert(index);
        return index;
      }
    }
  }

  void advance(Pod& pod) {
    const auto now = Clock::now();
    switch (pod.state) {
    case Pod::State::kNew: {
      absl::Status status = createPodNetwork(pod, /*capture=*/true);
      if (status.ok()) {
        registerInstance(pod, /*healthy=*/false);
        status = startProxy(pod);
      }
      if (!status.ok()) {
        pod.lastError = std::string(status.message());
        pod.state = Pod::State::kFailed;
        logLine(fmt::format("{}/{}: {}", pod.ns, pod.name, pod.lastError));
        return;
      }
      pod.state = Pod::State::kProxyStarting;
      return;
    }
    case Pod::State::kProxyStarting:
      if (restartProxyIfGone(pod) || !inSync_.contains(pod.nodeId)) {
        return;
      }
      if (absl::Status status = startApp(pod); !status.ok()) {
        pod.lastError = std::string(status.message());
        pod.state = Pod::State::kAppExited;
        pod.retryAt = now + backoff(pod.restarts++);
        return;
      }
      pod.state = Pod::State::kAppStarting;
      return;
    case Pod::State::kAppStarting:
      if (restartProxyIfGone(pod) || appGone(pod, now)) {
        return;
      }
      // In netns mode the app is probed on the pod's loopback, which capture leaves alone: a
      // connection to the pod's own address would be redirected to the sidecar's outbound
      // listener and succeed before the app listens (as Istio's agent probes apps on localhost).
      if (pod.spec.ports.empty() ||
          tcpPortOpen(pod.netns, netnsMode() ? "127.0.0.1" : pod.appIp,
                      static_cast<uint16_t>(pod.spec.ports.front().port), 200ms)) {
        registerInstance(pod, /*healthy=*/true);
        pod.state = Pod::State::kRunning;
        logLine(fmt::format("{}/{} running", pod.ns, pod.name));
      }
      return;
    case Pod::State::kRunning:
      if (!restartProxyIfGone(pod)) {
        appGone(pod, now);
      }
      return;
    case Pod::State::kAppExited:
      restartProxyIfGone(pod);
      if (now >= pod.retryAt) {
        pod.state = Pod::State::kProxyStarting; // the app starts again once the proxy is in sync
      }
      return;
    case Pod::State::kFailed: return;
    }
  }

  // When the app has exited: marks the instance unhealthy and schedules a restart.
  bool appGone(Pod& pod, Clock::time_point now) {
    if (pod.appPid != 0) {
      return false;
    }
    registerInstance(pod, /*healthy=*/false);
    pod.lastError = "the app exited; see " + (pod.dir / "app.log").string();
    pod.state = Pod::State::kAppExited;
    pod.retryAt = now + backoff(pod.restarts++);
    logLine(fmt::format("{}/{}: {}", pod.ns, pod.name, pod.lastError));
    return true;
  }

  bool restartProxyIfGone(Pod& pod) {
    if (pod.proxyPid != 0) {
      return false;
    }
    logLine(fmt::format("{}/{}: the proxy exited; restarting it", pod.ns, pod.name));
    if (absl::Status status = startProxy(pod); !status.ok()) {
      pod.lastError = std::string(status.message());
    }
    return true;
  }

  void keepGatewaysRunning() {
    for (const std::unique_ptr<Pod>& gateway : gateways_) {
      if (gateway->proxyPid == 0) {
        logLine(fmt::format("{} exited; restarting it", gateway->name));
        (void)startProxy(*gateway);
      }
    }
  }

  void reapChildren() {
    for (;;) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) {
        return;
      }
      forgetPid(pid);
    }
  }

  void forgetPid(pid_t pid) {
    if (pid == meshdPid_) {
      meshdPid_ = 0;
      logLine("meshd exited; see logs/meshd.log");
    }
    for (Pod* pod : allPods()) {
      if (pod->proxyPid == pid) {
        pod->proxyPid = 0;
      }
      if (pod->appPid == pid) {
        pod->appPid = 0;
      }
    }
  }

  std::vector<Pod*> allPods() {
    std::vector<Pod*> out;
    for (auto& [key, pod] : pods_) {
      out.push_back(pod.get());
    }
    for (const std::unique_ptr<Pod>& gateway : gateways_) {
      out.push_back(gateway.get());
    }
    return out;
  }

  // Stops one instance: out of the endpoints first, then the app, then its proxy.
  void stopPod(Pod& pod) {
    deregisterInstance(pod);
    stopProcess(pod.appPid, 5s);
    stopProcess(pod.proxyPid, 5s);
    pod.appPid = 0;
    pod.proxyPid = 0;
    if (!pod.netns.empty()) {
      (void)NetnsNetwork::removeNamespace(pod.netns);
    }
    usedIndexes_.erase(pod.index);
    std::error_code ec;
    std::filesystem::remove_all(pod.dir, ec);
    std::filesystem::remove_all(bootstrapPath(pod).parent_path(), ec);
  }

  void teardown() {
    logLine("tearing the mesh down");
    // Apps first (all at once), then the proxies, then meshd.
    std::vector<pid_t> apps;
    std::vector<pid_t> proxies;
    for (Pod* pod : allPods()) {
      if (!pod->gateway && meshd_.port != 0) {
        deregisterInstance(*pod);
      }
      apps.push_back(pod->appPid);
      proxies.push_back(pod->proxyPid);
    }
    stopAll(apps);
    stopAll(proxies);
    ingressRelay_.reset();
    xdsRelay_.reset();
    stopProcess(meshdPid_, 10s);
    if (absl::Status status = netnsMode() ? network_.removeAll() : absl::OkStatus(); !status.ok()) {
      logLine(fmt::format("removing network namespaces: {}", std::string(status.message())));
    }
    std::error_code ec;
    std::filesystem::remove(state_.supervisorPidFile(), ec);
    std::filesystem::remove(state_.statusFile(), ec);
    std::filesystem::remove(state_.meshdAddressFile(), ec);
    logLine("mesh stopped");
  }

  static void stopAll(const std::vector<pid_t>& pids) {
    std::vector<std::thread> stoppers;
    for (const pid_t pid : pids) {
      if (pid > 0) {
        stoppers.emplace_back([pid] { stopProcess(pid, 5s); });
      }
    }
    for (std::thread& stopper : stoppers) {
      stopper.join();
    }
  }

  void writeStatus() {
    nlohmann::json pods = nlohmann::json::array();
    for (Pod* pod : allPods()) {
      pods.push_back({{"namespace", pod->ns},
                      {"name", pod->name},
                      {"workload", pod->workload},
                      {"gateway", pod->gateway},
                      {"ip", pod->ip},
                      {"appIp", pod->appIp},
                      {"httpProxy", proxyEnvironment(*pod).at("http_proxy")},
                      {"netns", pod->netns},
                      {"nodeId", pod->nodeId},
                      {"state", pod->gateway ? (pod->proxyPid != 0 ? "Running" : "Restarting")
                                             : stateName(pod->state)},
                      {"proxyInSync", inSync_.contains(pod->nodeId)},
                      {"proxyPid", pod->proxyPid},
                      {"appPid", pod->appPid},
                      {"restarts", pod->restarts},
                      {"error", pod->lastError},
                      {"dir", pod->dir.string()}});
    }
    nlohmann::json status = {
        {"supervisorPid", ::getpid()},
        {"mode", options_.mode},
        {"ready", ready_},
        {"error", failure_},
        {"meshId", state_.meshId()},
        {"meshd",
         {{"http", meshd_.port != 0 ? meshd_.toString() : ""},
          {"xds", meshdXdsPort_ != 0 ? fmt::format("127.0.0.1:{}", meshdXdsPort_) : ""},
          {"pid", meshdPid_}}},
        {"ingress", ingressRelay_ ? fmt::format("127.0.0.1:{}", ingressRelay_->listenPort()) : ""},
        {"pods", pods}};
    (void)writeFileAtomically(state_.statusFile(), status.dump(2) + "\n");
  }

  SupervisorOptions options_;
  StateDir state_;
  NetnsNetwork network_;
  pid_t meshdPid_ = 0;
  uint16_t meshdXdsPort_ = 0;
  HttpEndpoint meshd_;
  std::unique_ptr<NetnsRelay> xdsRelay_;
  std::unique_ptr<NetnsRelay> ingressRelay_;
  std::vector<std::unique_ptr<Pod>> gateways_; // ingress first
  std::map<std::string, std::unique_ptr<Pod>> pods_;
  std::set<int> usedIndexes_;
  std::vector<ServiceAddress> services_;
  std::vector<HostAddress> entryHosts_;
  std::set<std::string> inSync_;
  bool ready_ = false;
  std::string failure_;
};

} // namespace

int runSupervisor(const SupervisorOptions& options) {
  struct sigaction action {};
  action.sa_handler = onStopSignal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  Supervisor supervisor(options);
  return supervisor.run();
}

} // namespace meshd::cli::mesh
