// The end-to-end tests' mesh, commands and task configuration (mesh_fixture.h).
#include "test/e2e/mesh_fixture.h"

#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "absl/strings/str_join.h"
#include "test/support/http_client.h"
#include "test/support/process.h"

namespace meshd::e2e {
namespace {

namespace fs = std::filesystem;

// How long the mesh may take to react to a config change: meshd debounces rebuilds (at most 1 s)
// and every proxy then ACKs; generous because a loaded machine with sanitizers is slow.
constexpr auto kRebuildBound = 20s;
constexpr auto kSyncBound = 30s;

std::string tail(const std::string& text, size_t maxBytes) {
  return text.size() <= maxBytes ? text : "..." + text.substr(text.size() - maxBytes);
}

std::vector<std::string> samplePaths(const std::vector<std::string>& sampleFiles) {
  std::vector<std::string> args;
  for (const std::string& file : sampleFiles) {
    args.push_back("-f");
    args.push_back((samplesDir() / file).string());
  }
  return args;
}

bool toolExists(const std::string& name) {
  std::vector<std::string> dirs = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::stringstream entries(path);
    for (std::string dir; std::getline(entries, dir, ':');) {
      dirs.push_back(dir);
    }
  }
  for (const std::string& dir : dirs) {
    if (!dir.empty() && ::access((fs::path(dir) / name).c_str(), X_OK) == 0) {
      return true;
    }
  }
  return false;
}

// Whether meshctl's output says that something changed (so meshd rebuilds its snapshot).
bool changedSomething(const std::string& out) {
  for (const char* word : {" created", " configured", " deleted"}) {
    if (out.find(word) != std::string::npos) {
      return true;
    }
  }
  return false;
}

} // namespace

std::string CommandResult::describe() const {
  return "exit " + std::to_string(exitCode) + " after " + std::to_string(elapsed.count()) +
         " ms\nstdout: " + tail(out, 3000) + "\nstderr: " + tail(err, 3000);
}

CommandResult runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds bound) {
  CommandResult result;
  const auto start = std::chrono::steady_clock::now();
  testing::Process process(testing::ProcessOptions{.argv = argv});
  std::optional<int> code = process.wait(bound);
  if (!code) {
    process.stop(2s);
  }
  result.exitCode = code.value_or(-1);
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  result.out = process.output();
  result.err = process.errors();
  return result;
}

std::string whyMeshesCannotRun(const std::string& mode) {
  if (mode == "local") {
    for (const char* tool : {"python3", "curl"}) {
      if (!toolExists(tool)) {
        return std::string("'") + tool + "' is not installed (scripts/setup.sh installs it)";
      }
    }
    return {};
  }
  if (::geteuid() != 0) {
    return "the end-to-end tests run meshes in network namespaces, which needs root "
           "(run them as root: sudo ctest -L e2e)";
  }
  for (const char* tool : {"ip", "iptables-restore", "iptables-save", "python3", "curl"}) {
    if (!toolExists(tool)) {
      return std::string("'") + tool + "' is not installed (scripts/setup.sh installs it)";
    }
  }
  return {};
}

fs::path samplesDir() {
  return fs::path(MESHD_SOURCE_DIR) / "samples";
}

fs::path clientsDir() {
  return fs::path(MESHD_SOURCE_DIR) / "test" / "e2e" / "clients";
}

LocalMesh::LocalMesh(std::string mode) : mode_(std::move(mode)) {}

LocalMesh::~LocalMesh() {
  if (started_) {
    const absl::Status stopped = down();
    if (!stopped.ok()) {
      std::cerr << "meshd e2e: " << stopped << "\n";
    }
  }
}

absl::Status LocalMesh::up(const std::vector<std::string>& sampleFiles) {
  std::vector<std::string> args = {"up"};
  for (std::string& arg : samplePaths(sampleFiles)) {
    args.push_back(std::move(arg));
  }
  for (const char* arg : {"--xds-port", "0", "--http-port", "0", "--ingress-port", "0"}) {
    args.emplace_back(arg);
  }
  args.push_back("--mode");
  args.push_back(mode_);
  started_ = true;
  const CommandResult result = meshctl(args, 240s);
  // The time a mesh takes to settle is the first thing to look at when a suite is slow.
  std::cerr << "meshd e2e: meshctl up took " << result.elapsed.count() << " ms (state in "
            << stateDir().string() << ")\n";
  if (!result.ok()) {
    return absl::UnavailableError("meshctl up failed: " + result.describe() + "\n" + logsTail());
  }
  return absl::OkStatus();
}

absl::Status LocalMesh::down() {
  const CommandResult result = meshctl({"down"}, 120s);
  started_ = false;
  if (!result.ok()) {
    return absl::InternalError("meshctl down failed: " + result.describe());
  }
  return absl::OkStatus();
}

CommandResult LocalMesh::meshctl(std::vector<std::string> args,
                                 std::chrono::milliseconds bound) const {
  std::vector<std::string> argv = {(testing::binaryDir() / "meshctl").string(), "--state-dir",
                                   stateDir().string()};
  for (std::string& arg : args) {
    argv.push_back(std::move(arg));
  }
  return runCommand(argv, bound);
}

CommandResult LocalMesh::exec(const std::string& workload, std::vector<std::string> command,
                              std::chrono::milliseconds bound) const {
  std::vector<std::string> args = {"exec", workload, "--"};
  for (std::string& arg : command) {
    args.push_back(std::move(arg));
  }
  return meshctl(args, bound);
}

uint16_t LocalMesh::meshdPort() const {
  const std::string address = testing::readFile(stateDir() / "meshd.addr");
  const size_t colon = address.rfind(':');
  return colon == std::string::npos ? 0
                                    : static_cast<uint16_t>(std::atoi(address.c_str() + colon + 1));
}

uint64_t LocalMesh::snapshotBuilds() const {
  const testing::HttpResult metrics = testing::httpRequest(meshdPort(), "GET", "/metrics", {}, 5s);
  const std::string name = "\nmeshd_snapshot_builds_total ";
  const size_t at = metrics.body.find(name);
  return at == std::string::npos
             ? 0
             : std::strtoull(metrics.body.c_str() + at + name.size(), nullptr, 10);
}

bool LocalMesh::proxiesAckedEverything() const {
  const testing::HttpResult syncz =
      testing::httpRequest(meshdPort(), "GET", "/debug/syncz", {}, 5s);
  const nlohmann::json streams = nlohmann::json::parse(syncz.body, nullptr, false);
  if (syncz.status != 200 || !streams.is_array()) {
    return false;
  }
  for (const nlohmann::json& stream : streams) {
    for (const nlohmann::json& type : stream.value("types", nlohmann::json::array())) {
      const std::string sent = type.value("last_version_sent", "");
      if (!sent.empty() && type.value("last_acked_version", "") != sent) {
        return false;
      }
    }
  }
  return true;
}

absl::Status LocalMesh::waitUntilApplied(uint64_t buildsBefore, const std::string& what) const {
  // Every proxy must have the change: first meshd's snapshot must include it (syncz compares with
  // the current snapshot, which lags a write by the debounce), then every proxy must have ACKed
  // what meshd last sent. That is `meshctl proxy-status` exiting 0, except that proxy-status
  // wrongly keeps reporting EDS STALE after a proxy unsubscribed from clusters (a deleted
  // DestinationRule's subsets; docs/e2e.md), so the ACKs are read from /debug/syncz directly.
  if (buildsBefore > 0 &&
      !testing::waitFor([&] { return snapshotBuilds() > buildsBefore; }, kRebuildBound, 50ms)) {
    return absl::DeadlineExceededError("meshd did not rebuild its snapshot after " + what);
  }
  if (!testing::waitFor([&] { return proxiesAckedEverything(); }, kSyncBound, 100ms)) {
    return absl::DeadlineExceededError("the proxies did not ACK the config after " + what + ": " +
                                       meshctl({"proxy-status"}, 20s).describe());
  }
  return absl::OkStatus();
}

absl::Status LocalMesh::apply(const std::vector<std::string>& sampleFiles) const {
  const uint64_t before = snapshotBuilds();
  std::vector<std::string> args = {"apply"};
  for (std::string& arg : samplePaths(sampleFiles)) {
    args.push_back(std::move(arg));
  }
  const CommandResult result = meshctl(args);
  if (!result.ok()) {
    return absl::InvalidArgumentError("meshctl apply failed: " + result.describe());
  }
  return waitUntilApplied(changedSomething(result.out) ? before : 0,
                          "applying " + absl::StrJoin(sampleFiles, ", "));
}

absl::Status LocalMesh::remove(const std::vector<std::string>& sampleFiles) const {
  const uint64_t before = snapshotBuilds();
  std::vector<std::string> args = {"delete", "--ignore-not-found"};
  for (std::string& arg : samplePaths(sampleFiles)) {
    args.push_back(std::move(arg));
  }
  const CommandResult result = meshctl(args);
  if (!result.ok()) {
    return absl::InvalidArgumentError("meshctl delete failed: " + result.describe());
  }
  return waitUntilApplied(changedSomething(result.out) ? before : 0,
                          "deleting " + absl::StrJoin(sampleFiles, ", "));
}

nlohmann::json LocalMesh::status() const {
  nlohmann::json parsed =
      nlohmann::json::parse(testing::readFile(stateDir() / "status.json"), nullptr, false);
  return parsed.is_object() ? parsed : nlohmann::json::object();
}

std::string LocalMesh::meshId() const {
  return status().value("meshId", "");
}

uint16_t LocalMesh::ingressPort() const {
  const std::string ingress = status().value("ingress", "");
  const size_t colon = ingress.rfind(':');
  return colon == std::string::npos ? 0
                                    : static_cast<uint16_t>(std::atoi(ingress.c_str() + colon + 1));
}

std::string LocalMesh::podFile(const std::string& podKey, const std::string& file) const {
  return testing::readFile(stateDir() / "pods" / podKey / file);
}

std::string LocalMesh::logsTail(size_t maxBytes) const {
  return "supervisor.log: " +
         tail(testing::readFile(stateDir() / "logs" / "supervisor.log"), maxBytes) +
         "\nmeshd.log: " + tail(testing::readFile(stateDir() / "logs" / "meshd.log"), maxBytes);
}

fs::path LocalMesh::preserveLogs() const {
  const fs::path kept =
      fs::temp_directory_path() / ("meshd-e2e-logs-" + meshId() + "-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::create_directories(kept, ec);
  for (const char* dir : {"logs", "pods"}) {
    fs::copy(stateDir() / dir, kept / dir,
             fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
  }
  fs::copy(stateDir() / "status.json", kept / "status.json", fs::copy_options::overwrite_existing,
           ec);
  return kept;
}

TaskConfig::TaskConfig(const LocalMesh& mesh, std::vector<std::string> sampleFiles)
    : mesh_(mesh), files_(std::move(sampleFiles)) {
  for (const std::string& file : files_) {
    status_ = mesh_.apply({file});
    if (!status_.ok()) {
      return;
    }
  }
}

TaskConfig::~TaskConfig() {
  for (auto file = files_.rbegin(); file != files_.rend(); ++file) {
    const absl::Status removed = mesh_.remove({*file});
    EXPECT_TRUE(removed.ok()) << removed;
  }
}

} // namespace meshd::e2e
