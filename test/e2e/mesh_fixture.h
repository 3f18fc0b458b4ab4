// What the end-to-end tests share (docs/e2e.md): a whole mesh on this machine, started with
// `meshctl up` in netns mode (root only) in a private state directory with ports chosen by the
// kernel and stopped with `meshctl down`; meshctl commands and `meshctl exec` in a workload; task
// configuration applied and removed with a bounded wait until every proxy has it; and the base of
// the test suites that share one mesh between their cases.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "test/support/temp_dir.h"
#include "gtest/gtest.h"

namespace meshd::e2e {

using namespace std::chrono_literals;

// What a finished command printed and how it ended.
struct CommandResult {
  int exitCode = -1; // -1: it did not end within its bound and was killed
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};

  bool ok() const { return exitCode == 0; }
  // For assertion messages.
  std::string describe() const;
};

// Runs a program (argv[0] looked up in PATH) with a bound on its run time.
CommandResult runCommand(const std::vector<std::string>& argv,
                         std::chrono::milliseconds bound = 60s);

// Empty when meshes of that mode ("netns" or "local") can run here, else why not (not root, a
// tool missing).
std::string whyMeshesCannotRun(const std::string& mode = "netns");

std::filesystem::path samplesDir(); // the repository's samples/
std::filesystem::path clientsDir(); // test/e2e/clients/: the programs tests run in workloads

class LocalMesh {
public:
  // A mesh in a fresh temporary state directory (removed with this object), not started yet.
  // `mode` is meshctl up's --mode: netns (root) or local.
  explicit LocalMesh(std::string mode = "netns");
  ~LocalMesh(); // `meshctl down` if it was started and not stopped
  LocalMesh(const LocalMesh&) = delete;
  LocalMesh& operator=(const LocalMesh&) = delete;

  // `meshctl up` with the given files (paths under samples/), ports 0, until the mesh has settled.
  // Calling it again while the mesh runs, or after its supervisor died, is `meshctl up` again.
  absl::Status up(const std::vector<std::string>& sampleFiles);
  // `meshctl down`.
  absl::Status down();

  CommandResult meshctl(std::vector<std::string> args, std::chrono::milliseconds bound = 60s) const;
  // `meshctl exec WORKLOAD -- COMMAND...`: the command runs in the workload's network namespace,
  // its traffic captured by the workload's sidecar.
  CommandResult exec(const std::string& workload, std::vector<std::string> command,
                     std::chrono::milliseconds bound = 60s) const;

  // `meshctl apply` / `meshctl delete` of files under samples/, then waits (bounded) until meshd
  // has rebuilt its snapshot with the change and every proxy ACKed it. The change may still take
  // a moment to reach every request path: tests also poll for the behaviour they expect.
  absl::Status apply(const std::vector<std::string>& sampleFiles) const;
  absl::Status remove(const std::vector<std::string>& sampleFiles) const;

  const std::filesystem::path& stateDir() const { return stateDir_.path(); }
  // status.json as the supervisor last wrote it (an empty object when there is none).
  nlohmann::json status() const;
  std::string meshId() const;
  uint16_t ingressPort() const;
  // A file of one instance: pods/<namespace>-<name>/<file> (app.log, proxy.log, ...).
  std::string podFile(const std::string& podKey, const std::string& file) const;
  // The supervisor's and meshd's logs (for failure messages).
  std::string logsTail(size_t maxBytes = 4000) const;
  // Copies the logs somewhere that outlives the mesh and returns where (for failed suites).
  std::filesystem::path preserveLogs() const;

private:
  absl::Status waitUntilApplied(uint64_t buildsBefore, const std::string& what) const;
  uint16_t meshdPort() const; // meshd's HTTP port, from meshd.addr
  // meshd's meshd_snapshot_builds_total (0 when meshd does not answer).
  uint64_t snapshotBuilds() const;
  // Whether every proxy ACKed every type meshd sent it (per /debug/syncz).
  bool proxiesAckedEverything() const;

  testing::TempDir stateDir_;
  std::string mode_;
  bool started_ = false;
};

// Applies task files for the lifetime of a scope and removes them at its end (in reverse order,
// waiting until the proxies have the change), so the next case starts from the suite's mesh.
class TaskConfig {
public:
  TaskConfig(const LocalMesh& mesh, std::vector<std::string> sampleFiles);
  ~TaskConfig();
  TaskConfig(const TaskConfig&) = delete;
  TaskConfig& operator=(const TaskConfig&) = delete;

  const absl::Status& status() const { return status_; }

private:
  const LocalMesh& mesh_;
  std::vector<std::string> files_;
  absl::Status status_;
};

// The base of a suite whose cases share one mesh: `Suite::sampleFiles()` names what `meshctl up`
// starts. Cases are skipped when meshes cannot run here, and fail when the mesh did not start.
template <typename Suite>
class MeshSuite : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    State& state = suiteState();
    // A suite runs in netns mode unless it says otherwise with a static mode().
    std::string mode = "netns";
    if constexpr (requires { Suite::mode(); }) {
      mode = Suite::mode();
    }
    state.skipReason = whyMeshesCannotRun(mode);
    if (!state.skipReason.empty()) {
      return;
    }
    state.mesh = std::make_unique<LocalMesh>(mode);
    state.upStatus = state.mesh->up(Suite::sampleFiles());
  }

  static void TearDownTestSuite() {
    State& state = suiteState();
    if (state.mesh != nullptr) {
      const ::testing::TestSuite* suite = ::testing::UnitTest::GetInstance()->current_test_suite();
      if (suite != nullptr && suite->failed_test_count() > 0) {
        std::cerr << "meshd e2e: the mesh's logs are kept in "
                  << state.mesh->preserveLogs().string() << "\n";
      }
      const absl::Status down = state.mesh->down();
      EXPECT_TRUE(down.ok()) << down;
      state.mesh.reset();
    }
  }

  void SetUp() override {
    const State& state = suiteState();
    if (!state.skipReason.empty()) {
      GTEST_SKIP() << "meshd e2e: skipped: " << state.skipReason;
    }
    ASSERT_TRUE(state.upStatus.ok()) << "the suite's mesh did not start: " << state.upStatus;
  }

  static LocalMesh& mesh() { return *suiteState().mesh; }

private:
  struct State {
    std::string skipReason;
    std::unique_ptr<LocalMesh> mesh;
    absl::Status upStatus;
  };
  static State& suiteState() {
    static State state;
    return state;
  }
};

} // namespace meshd::e2e
