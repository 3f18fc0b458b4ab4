// FileConfigStore: the files it writes (layout, atomic, no temporaries left), reload after a
// restart, bad files at load reported and skipped, and hand edits followed through inotify: a
// valid edit applied with an event, an invalid one reported while the old version keeps serving.
#include "control/config/store/file_config_store.h"

#include <algorithm>
#include <fstream>
#include <thread>

#include "control/config/store/file_layout.h"
#include "core/event_loop.h"
#include "test/support/process.h"
#include "test/support/temp_dir.h"
#include "test/unit/control/config/store/fake_validator.h"
#include "gtest/gtest.h"

namespace meshd::control::config {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::vector<std::string> filesUnder(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      out.push_back(fs::relative(entry.path(), dir).string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void writeFile(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << content;
}

// What an editor does: write a new file beside it, then rename it over the old one.
void replaceFile(const fs::path& path, const std::string& content) {
  writeFile(path.string() + ".swp", content);
  fs::rename(path.string() + ".swp", path);
}

const ObjectKey kReviews{"Gateway", "default", "reviews"};

class FileConfigStoreTest : public ::testing::Test {
protected:
  fs::path root() const { return dir_.path() / "config"; }

  std::unique_ptr<FileConfigStore> open() {
    auto store = std::make_unique<FileConfigStore>(root(), validator_);
    EXPECT_TRUE(store->load().ok());
    return store;
  }

  testing::TempDir dir_;
  FakeValidator validator_;
};

TEST_F(FileConfigStoreTest, WritesOneYamlFilePerObjectAndNoTemporaries) {
  auto store = open();
  ASSERT_TRUE(
      store
          ->apply({gateway("reviews", "{selector: {istio: ingress}}"),
                   objectFromYaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")})
          .ok());
  EXPECT_EQ(filesUnder(root()),
            (std::vector<std::string>{".resource-version", "_cluster/namespaces/a.yaml",
                                      "default/gateways/reviews.yaml"}));
  EXPECT_EQ(testing::readFile(root() / "default/gateways/reviews.yaml"),
            "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: reviews\n"
            "  namespace: default\nspec:\n  selector:\n    istio: ingress\n");
  EXPECT_EQ(store->get(kReviews)->file, (root() / "default/gateways/reviews.yaml").string());
  EXPECT_EQ(store->get(kReviews)->lineOf("/spec/selector/istio"), 8)
      << "lines refer to the stored file";

  ASSERT_TRUE(store->remove({kReviews}).ok());
  EXPECT_EQ(filesUnder(root()),
            (std::vector<std::string>{".resource-version", "_cluster/namespaces/a.yaml"}));
}

TEST_F(FileConfigStoreTest, ObjectsAndVersionSurviveARestart) {
  const ConfigObject tricky = gateway(
      "reviews", R"({servers: [{port: {number: 80, name: "080"}, hosts: ["true", "", "1e3", "null",
      "a: b", "multi\nline", "ünïcode"]}], weight: 0.25, big: 18446744073709551615, flag: false,
      nothing: null})");
  int64_t version = 0;
  {
    auto store = open();
    ASSERT_TRUE(store->apply({tricky, gateway("other")}).ok());
    ASSERT_TRUE(store->remove({{"Gateway", "default", "other"}}).ok());
    version = store->resourceVersion();
  }
  auto store = open();
  const std::optional<ConfigObject> loaded = store->get(kReviews);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->json, tricky.json);
  EXPECT_EQ(loaded->apiVersion, tricky.apiVersion);
  EXPECT_EQ(store->list().size(), 1u);
  EXPECT_GT(store->resourceVersion(), version) << "versions never go back";
  EXPECT_EQ(loaded->resourceVersion, store->resourceVersion());
  EXPECT_TRUE(store->problems().empty());
}

TEST_F(FileConfigStoreTest, BadFilesAtLoadAreReportedAndSkipped) {
  {
    auto store = open();
    ASSERT_TRUE(store
                    ->apply({gateway("good"), gateway("base", "{}", "other"),
                             gateway("dependent", R"({requires: "Gateway other/base"})")})
                    .ok());
  }
  writeFile(root() / "default/gateways/syntax.yaml", "kind: Gateway\nmetadata: [\n");
  writeFile(root() / "default/gateways/invalid.yaml",
            "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: invalid}\n"
            "spec:\n  invalid: true\n");
  writeFile(root() / "default/gateways/misnamed.yaml",
            "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: other}\n");
  writeFile(root() / "stray.yaml", "a: b\n");
  writeFile(root() / "README", "not config\n");
  // The dependency becomes invalid: its dependent goes with it.
  writeFile(root() / "other/gateways/base.yaml",
            "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: base}\n"
            "spec: {invalid: true}\n");

  auto store = open();
  std::vector<std::string> loaded;
  for (const ConfigObject& object : store->list()) {
    loaded.push_back(object.key.toString());
  }
  EXPECT_EQ(loaded, std::vector<std::string>{"Gateway default/good"});
  const auto problems = store->problems();
  std::vector<std::string> paths;
  for (const auto& [path, diagnostics] : problems) {
    paths.push_back(path);
  }
  EXPECT_EQ(paths, (std::vector<std::string>{
                       "default/gateways/dependent.yaml", "default/gateways/invalid.yaml",
                       "default/gateways/misnamed.yaml", "default/gateways/syntax.yaml",
                       "other/gateways/base.yaml", "stray.yaml"}));
  EXPECT_EQ(problems.at("default/gateways/invalid.yaml").at(0).toString(),
            (root() / "default/gateways/invalid.yaml").string() +
                ":5: error: Gateway default/invalid: spec.invalid: this object is invalid");
  EXPECT_EQ(problems.at("default/gateways/dependent.yaml").at(0).message,
            "Gateway other/base does not exist");
  EXPECT_NE(problems.at("default/gateways/misnamed.yaml")
                .at(0)
                .message.find("must hold Gateway default/misnamed"),
            std::string::npos);
  EXPECT_NE(problems.at("default/gateways/syntax.yaml").at(0).message.find("line 3, column 1"),
            std::string::npos)
      << problems.at("default/gateways/syntax.yaml").at(0).toString();
}

TEST_F(FileConfigStoreTest, ReconcileAppliesValidEditsAndKeepsTheOldVersionOfInvalidOnes) {
  auto store = open();
  ASSERT_TRUE(store->apply({gateway("reviews")}).ok());
  std::vector<ConfigChange> changes;
  store->watch([&](const std::vector<ConfigChange>& batch) {
    changes.insert(changes.end(), batch.begin(), batch.end());
  });
  const fs::path relative = "default/gateways/reviews.yaml";

  store->reconcile(relative);
  EXPECT_TRUE(changes.empty()) << "the store's own file changes nothing";

  writeFile(root() / relative,
            "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: reviews}\n"
            "spec: {invalid: true}\n");
  store->reconcile(relative);
  EXPECT_EQ(store->get(kReviews)->spec(), nlohmann::json::object());
  ASSERT_EQ(store->problems().count(relative.string()), 1u);
  EXPECT_TRUE(changes.empty());

  writeFile(root() / relative, "apiVersion: networking.istio.io/v1\nkind: Gateway\n"
                               "metadata: {name: reviews, resourceVersion: \"999\"}\n"
                               "spec: {selector: {app: edited}}\n");
  store->reconcile(relative);
  EXPECT_EQ(store->get(kReviews)->spec()["selector"]["app"], "edited");
  EXPECT_FALSE(store->get(kReviews)->json["metadata"].contains("resourceVersion"))
      << "a version copied from GET output is not part of the object";
  EXPECT_NE(store->get(kReviews)->resourceVersion, 999);
  EXPECT_TRUE(store->problems().empty());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].type, ChangeType::kUpdated);

  fs::remove(root() / relative);
  store->reconcile(relative);
  EXPECT_FALSE(store->get(kReviews).has_value());
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[1].type, ChangeType::kDeleted);
}

// The watcher on a real event loop thread; each step waits (bounded) for the store to show it.
class FileConfigStoreWatchTest : public FileConfigStoreTest {
protected:
  void SetUp() override {
    store_ = open();
    ASSERT_TRUE(store_->apply({gateway("reviews")}).ok());
    ASSERT_TRUE(store_->startWatching(loop_).ok());
    thread_ = std::thread([this] { loop_.run(); });
  }
  void TearDown() override {
    loop_.post([this] { store_->stopWatching(); });
    loop_.stop();
    thread_.join();
  }

  bool waitFor(const std::function<bool()>& condition) {
    return testing::waitFor(condition, 10s, 5ms);
  }

  std::string selectorApp(const ObjectKey& key = kReviews) const {
    const auto object = store_->get(key);
    return object.has_value() ? object->spec().value("/selector/app"_json_pointer, "") : "<none>";
  }

  core::EventLoop loop_{"config-watch"};
  std::unique_ptr<FileConfigStore> store_;
  std::thread thread_;
};

TEST_F(FileConfigStoreWatchTest, HandEditsArePickedUp) {
  const fs::path file = root() / "default/gateways/reviews.yaml";
  replaceFile(file, "apiVersion: networking.istio.io/v1\nkind: Gateway\n"
                    "metadata: {name: reviews}\nspec: {selector: {app: renamed-in}}\n");
  EXPECT_TRUE(waitFor([&] { return selectorApp() == "renamed-in"; })) << selectorApp();

  writeFile(file, "apiVersion: networking.istio.io/v1\nkind: Gateway\n"
                  "metadata: {name: reviews}\nspec: {selector: {app: written-in-place}}\n");
  EXPECT_TRUE(waitFor([&] { return selectorApp() == "written-in-place"; })) << selectorApp();

  // A new namespace directory: the watcher starts watching it and reads what is already there.
  const ObjectKey added{"Gateway", "new-ns", "added"};
  writeFile(root() / "new-ns/gateways/added.yaml",
            "apiVersion: networking.istio.io/v1\nkind: Gateway\n"
            "metadata: {name: added}\nspec: {selector: {app: new}}\n");
  EXPECT_TRUE(waitFor([&] { return selectorApp(added) == "new"; })) << selectorApp(added);
  writeFile(root() / "new-ns/gateways/added.yaml",
            "apiVersion: networking.istio.io/v1\nkind: Gateway\n"
            "metadata: {name: added}\nspec: {selector: {app: newer}}\n");
  EXPECT_TRUE(waitFor([&] { return selectorApp(added) == "newer"; })) << selectorApp(added);

  fs::remove(file);
  EXPECT_TRUE(waitFor([&] { return !store_->get(kReviews).has_value(); }));
}

TEST_F(FileConfigStoreWatchTest, AnInvalidHandEditKeepsThePreviousVersion) {
  const fs::path file = root() / "default/gateways/reviews.yaml";
  writeFile(file, "apiVersion: networking.istio.io/v1\nkind: Gateway\n"
                  "metadata: {name: reviews}\nspec: {selector: {app: bad}, invalid: true}\n");
  ASSERT_TRUE(waitFor([&] { return store_->problems().count("default/gateways/reviews.yaml"); }));
  EXPECT_EQ(selectorApp(), "");
  EXPECT_TRUE(store_->get(kReviews).has_value());

  writeFile(file, "apiVersion: networking.istio.io/v1\nkind: Gateway\n"
                  "metadata: {name: reviews}\nspec: {selector: {app: fixed}}\n");
  EXPECT_TRUE(waitFor([&] { return selectorApp() == "fixed"; }));
  EXPECT_TRUE(store_->problems().empty());
}

TEST_F(FileConfigStoreWatchTest, AFileWaitingForAnotherObjectIsRetriedWhenThatObjectArrives) {
  const fs::path dependent = root() / "default/gateways/dependent.yaml";
  writeFile(dependent, "apiVersion: networking.istio.io/v1\nkind: Gateway\n"
                       "metadata: {name: dependent}\nspec: {requires: \"Gateway default/base\"}\n");
  ASSERT_TRUE(waitFor([&] { return store_->problems().count("default/gateways/dependent.yaml"); }));
  // The missing object arrives through the API, not through the file that was rejected.
  ASSERT_TRUE(store_->apply({gateway("base")}).ok());
  EXPECT_TRUE(waitFor([&] {
    return store_->get({"Gateway", "default", "dependent"}).has_value();
  }));
  EXPECT_TRUE(store_->problems().empty());
}

TEST(FileLayoutTest, PathsAndKeysMapBothWays) {
  EXPECT_EQ(relativePathFor({"VirtualService", "team-a", "reviews"}),
            "team-a/virtualservices/reviews.yaml");
  EXPECT_EQ(relativePathFor({"Namespace", "", "team-a"}), "_cluster/namespaces/team-a.yaml");
  EXPECT_EQ(keyForRelativePath("team-a/virtualservices/reviews.yaml"),
            (ObjectKey{"VirtualService", "team-a", "reviews"}));
  EXPECT_EQ(keyForRelativePath("_cluster/namespaces/x.yaml"), (ObjectKey{"Namespace", "", "x"}));
  EXPECT_FALSE(keyForRelativePath("_cluster/gateways/x.yaml")) << "namespaced kind";
  EXPECT_FALSE(keyForRelativePath("ns/namespaces/x.yaml")) << "cluster-scoped kind";
  EXPECT_FALSE(keyForRelativePath("ns/Gateways/x.yaml"));
  EXPECT_FALSE(keyForRelativePath("ns/gateways/.x.yaml.tmp.1.2"));
  EXPECT_FALSE(keyForRelativePath("ns/gateways/x.yml"));
  EXPECT_FALSE(keyForRelativePath("gateways/x.yaml"));
  EXPECT_FALSE(keyForRelativePath("../gateways/x.yaml"));
  EXPECT_FALSE(keyForRelativePath("Team/gateways/x.yaml"));
  EXPECT_FALSE(keyForRelativePath("ns/gateways/X.yaml"));
}

TEST(DurableFileBatchTest, NothingChangesUntilCommitAndAnAbandonedBatchLeavesNoTemporaries) {
  testing::TempDir dir;
  const fs::path target = dir.path() / "a/b/file.yaml";
  {
    DurableFileBatch batch;
    ASSERT_TRUE(batch.stage(target, "one\n").ok());
    EXPECT_FALSE(fs::exists(target));
  }
  EXPECT_EQ(filesUnder(dir.path()), std::vector<std::string>{});
  DurableFileBatch batch;
  ASSERT_TRUE(batch.stage(target, "two\n").ok());
  ASSERT_TRUE(batch.commit().ok());
  EXPECT_EQ(testing::readFile(target), "two\n");
  EXPECT_EQ(filesUnder(dir.path()), std::vector<std::string>{"a/b/file.yaml"});
}

} // namespace
} // namespace meshd::control::config
