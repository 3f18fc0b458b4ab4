// Behaviour both stores share (MemoryConfigStore and FileConfigStore, same tests): create, replace
// and apply semantics, all-or-nothing validation against the resulting config, resourceVersion
// preconditions, change events batched per write, deletes, dry runs, listing.
#include <memory>

#include "control/config/store/basic_config_store.h"
#include "control/config/store/file_config_store.h"
#include "control/config/store/object_names.h"
#include "test/support/temp_dir.h"
#include "test/unit/control/config/store/fake_validator.h"
#include "gtest/gtest.h"

namespace meshd::control::config {
namespace {

enum class StoreType { kMemory, kFile };

class ConfigStoreTest : public ::testing::TestWithParam<StoreType> {
protected:
  void SetUp() override {
    if (GetParam() == StoreType::kMemory) {
      store_ = std::make_unique<MemoryConfigStore>(validator_);
    } else {
      auto store = std::make_unique<FileConfigStore>(dir_.path() / "config", validator_);
      ASSERT_TRUE(store->load().ok());
      store_ = std::move(store);
    }
    store_->watch(
        [this](const std::vector<ConfigChange>& changes) { batches_.push_back(changes); });
  }

  std::vector<std::string> names(std::string_view kind = {},
                                 std::optional<std::string_view> ns = std::nullopt) const {
    std::vector<std::string> out;
    for (const ConfigObject& object : store_->list(kind, ns)) {
      out.push_back(object.key.toString());
    }
    return out;
  }

  testing::TempDir dir_;
  FakeValidator validator_;
  std::unique_ptr<ConfigStore> store_;
  std::vector<std::vector<ConfigChange>> batches_;
};

TEST_P(ConfigStoreTest, ApplyCreatesConfiguresAndLeavesEqualObjectsUnchanged) {
  const int64_t start = store_->resourceVersion();
  WriteResult created = store_->apply({gateway("a"), gateway("b")});
  ASSERT_TRUE(created.ok()) << created.status;
  EXPECT_EQ(created.resourceVersion, start + 1);
  ASSERT_EQ(created.outcomes.size(), 2u);
  EXPECT_EQ(created.outcomes[0].action, ObjectAction::kCreated);
  EXPECT_EQ(store_->get({"Gateway", "default", "a"})->resourceVersion, start + 1);

  WriteResult again = store_->apply({gateway("a", "{selector: {app: x}}"), gateway("b")});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.resourceVersion, start + 2);
  EXPECT_EQ(again.outcomes[0].action, ObjectAction::kConfigured);
  EXPECT_EQ(again.outcomes[1].action, ObjectAction::kUnchanged);
  EXPECT_EQ(store_->get({"Gateway", "default", "a"})->spec()["selector"]["app"], "x");
  EXPECT_EQ(store_->get({"Gateway", "default", "b"})->resourceVersion, start + 1);

  WriteResult nothing = store_->apply({gateway("b")});
  EXPECT_EQ(nothing.resourceVersion, start + 2) << "a write that changes nothing keeps the version";
  ASSERT_EQ(batches_.size(), 2u);
  EXPECT_EQ(batches_[0].size(), 2u) << "one batch per write";
  EXPECT_EQ(batches_[0][0].type, ChangeType::kAdded);
  ASSERT_EQ(batches_[1].size(), 1u);
  EXPECT_EQ(batches_[1][0].type, ChangeType::kUpdated);
  EXPECT_EQ(batches_[1][0].key, (ObjectKey{"Gateway", "default", "a"}));
  EXPECT_EQ(batches_[1][0].resourceVersion, start + 2);
}

TEST_P(ConfigStoreTest, AnInvalidObjectRejectsTheWholeWrite) {
  ASSERT_TRUE(store_->apply({gateway("keep")}).ok());
  const int64_t version = store_->resourceVersion();
  WriteResult result =
      store_->apply({gateway("keep", "{warn: true}"), gateway("new"),
                     gateway("bad", "{invalid: true}"), gateway("bad2", "{invalid: true}")});
  EXPECT_EQ(result.status.code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(result.diagnostics.size(), 3u) << "every diagnostic, warnings included";
  EXPECT_EQ(result.diagnostics[1].toString(),
            "test.yaml:6: error: Gateway default/bad: spec.invalid: this object is invalid");
  EXPECT_TRUE(result.outcomes.empty());
  EXPECT_EQ(names(), std::vector<std::string>{"Gateway default/keep"});
  EXPECT_EQ(store_->get({"Gateway", "default", "keep"})->spec(), nlohmann::json::object());
  EXPECT_EQ(store_->resourceVersion(), version);
  EXPECT_EQ(batches_.size(), 1u) << "no event for a rejected write";
}

TEST_P(ConfigStoreTest, WarningsAreReturnedWithAnAcceptedWrite) {
  WriteResult result = store_->apply({gateway("a", "{warn: true}")});
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(result.diagnostics[0].severity, Diagnostic::Severity::kWarning);
}

TEST_P(ConfigStoreTest, TheValidatorSeesTheConfigAsItWouldBeAfterTheWrite) {
  const ConfigObject dependent = gateway("uses", R"({requires: "Gateway other/base"})");
  WriteResult alone = store_->apply({dependent});
  EXPECT_EQ(alone.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(alone.diagnostics.at(0).message, "Gateway other/base does not exist");

  ASSERT_TRUE(store_->apply({dependent, gateway("base", "{}", "other")}).ok());
  // Already stored objects count too.
  ASSERT_TRUE(store_->apply({gateway("uses2", R"({requires: "Gateway other/base"})")}).ok());
  // Deletes are not validated (as in Istio): the dependents stay.
  ASSERT_TRUE(store_->remove({{"Gateway", "other", "base"}}).ok());
  EXPECT_EQ(names("Gateway", "default"),
            (std::vector<std::string>{"Gateway default/uses", "Gateway default/uses2"}));
}

TEST_P(ConfigStoreTest, CreateAndReplaceCheckExistence) {
  ASSERT_TRUE(store_->create({gateway("a")}).ok());
  const int validations = validator_.calls;
  WriteResult exists = store_->create({gateway("b"), gateway("a", "{x: 1}")});
  EXPECT_EQ(exists.status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(store_->get({"Gateway", "default", "b"}).has_value());
  EXPECT_EQ(validator_.calls, validations) << "existence is checked before validation";

  WriteResult missing = store_->replace({gateway("a", "{x: 1}"), gateway("c")});
  EXPECT_EQ(missing.status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->get({"Gateway", "default", "a"})->spec(), nlohmann::json::object());
  ASSERT_TRUE(store_->replace({gateway("a", "{x: 1}")}).ok());
  EXPECT_EQ(store_->get({"Gateway", "default", "a"})->spec()["x"], 1);
}

TEST_P(ConfigStoreTest, AResourceVersionIsAPrecondition) {
  ASSERT_TRUE(store_->apply({gateway("a")}).ok());
  const int64_t read = store_->get({"Gateway", "default", "a"})->resourceVersion;
  ASSERT_TRUE(store_->apply({gateway("other")}).ok());

  ConfigObject stale = gateway("a", "{x: 1}");
  stale.resourceVersion = read + 100;
  WriteResult conflict = store_->replace({stale});
  EXPECT_EQ(conflict.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->get({"Gateway", "default", "a"})->spec(), nlohmann::json::object());

  ConfigObject current = gateway("a", "{x: 1}");
  current.resourceVersion = read; // other objects changed since; this one did not
  ASSERT_TRUE(store_->replace({current}).ok());
  EXPECT_EQ(store_->replace({current}).status.code(), absl::StatusCode::kFailedPrecondition)
      << "the write moved it on";
  ConfigObject absent = gateway("never");
  absent.resourceVersion = read;
  EXPECT_EQ(store_->apply({absent}).status.code(), absl::StatusCode::kFailedPrecondition);
}

TEST_P(ConfigStoreTest, KeysThatAreNotKubernetesNamesAreRejected) {
  // Keys can come from outside the object (a namespace from a URL), and become file paths.
  for (const ObjectKey& key : {ObjectKey{"Gateway", "..", "a"}, ObjectKey{"Gateway", "", "a"},
                               ObjectKey{"Gateway", "a/b", "c"}, ObjectKey{"Gateway", "ns", "../x"},
                               ObjectKey{"Namespace", "ns", "a"}, ObjectKey{"Pod", "ns", "a"}}) {
    ConfigObject object = gateway("a");
    object.key = key;
    EXPECT_EQ(store_->apply({object}).status.code(), absl::StatusCode::kInvalidArgument)
        << key.toString();
  }
  EXPECT_TRUE(store_->list().empty());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "gateways")) << "nothing written outside";
  EXPECT_EQ(validator_.calls, GetParam() == StoreType::kFile ? 1 : 0) << "only the load's";
}

TEST_P(ConfigStoreTest, TextThatIsNotUtf8IsRejected) {
  // YAML and JSON are UTF-8; such bytes could not be written to a file and read back the same.
  ConfigObject object = gateway("a", R"({servers: [{hosts: [ok]}]})");
  object.json["spec"]["servers"][0]["hosts"][0] = "bad\xff";
  WriteResult result = store_->apply({object, gateway("b")});
  EXPECT_EQ(result.status.code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(result.diagnostics[0].field, "spec.servers[0].hosts[0]");
  EXPECT_EQ(result.diagnostics[0].line, 6);

  ConfigObject badKey = gateway("c");
  badKey.json["spec"]["\xc0\x80"] = 1; // an overlong NUL
  EXPECT_EQ(store_->apply({badKey}).status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->list().empty());
}

TEST(Utf8Test, ValidAndInvalidSequences) {
  EXPECT_TRUE(isValidUtf8("plain ünïcode €𝄞"));
  EXPECT_TRUE(isValidUtf8(std::string("nul\0inside", 11)));
  EXPECT_FALSE(isValidUtf8("\xff"));
  EXPECT_FALSE(isValidUtf8("\xc3"));             // truncated
  EXPECT_FALSE(isValidUtf8("\xe0\x80\xaf"));     // overlong
  EXPECT_FALSE(isValidUtf8("\xed\xa0\x80"));     // surrogate
  EXPECT_FALSE(isValidUtf8("\xf4\x90\x80\x80")); // beyond U+10FFFF
}

TEST_P(ConfigStoreTest, TheSameObjectTwiceInOneWriteIsRejected) {
  WriteResult result = store_->apply({gateway("a"), gateway("a", "{x: 1}")});
  EXPECT_EQ(result.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->list().empty());
}

TEST_P(ConfigStoreTest, RemoveIsAllOrNothingUnlessNotFoundIsIgnored) {
  ASSERT_TRUE(store_->apply({gateway("a"), gateway("b")}).ok());
  WriteResult missing = store_->remove({{"Gateway", "default", "a"}, {"Gateway", "x", "nope"}});
  EXPECT_EQ(missing.status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status.message(), "not found: Gateway x/nope");
  EXPECT_EQ(names().size(), 2u);

  WriteResult removed = store_->remove({{"Gateway", "default", "a"}, {"Gateway", "x", "nope"}},
                                       {.ignoreNotFound = true});
  ASSERT_TRUE(removed.ok());
  ASSERT_EQ(removed.outcomes.size(), 1u);
  EXPECT_EQ(removed.outcomes[0].action, ObjectAction::kDeleted);
  EXPECT_EQ(names(), std::vector<std::string>{"Gateway default/b"});
  ASSERT_EQ(batches_.size(), 2u);
  ASSERT_EQ(batches_[1].size(), 1u);
  EXPECT_EQ(batches_[1][0].type, ChangeType::kDeleted);
  EXPECT_EQ(batches_[1][0].resourceVersion, store_->resourceVersion());
}

TEST_P(ConfigStoreTest, ADryRunValidatesAndChangesNothing) {
  ASSERT_TRUE(store_->apply({gateway("a")}).ok());
  const int64_t version = store_->resourceVersion();
  WriteResult ok = store_->apply({gateway("a", "{x: 1}"), gateway("b")}, {.dryRun = true});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.outcomes.at(0).action, ObjectAction::kConfigured);
  EXPECT_EQ(ok.outcomes.at(1).action, ObjectAction::kCreated);
  EXPECT_EQ(store_->apply({gateway("c", "{invalid: true}")}, {.dryRun = true}).status.code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->remove({{"Gateway", "default", "a"}}, {.dryRun = true}).ok());
  EXPECT_EQ(names(), std::vector<std::string>{"Gateway default/a"});
  EXPECT_EQ(store_->resourceVersion(), version);
  EXPECT_EQ(batches_.size(), 1u);
}

TEST_P(ConfigStoreTest, ListsByKindAndNamespace) {
  ASSERT_TRUE(
      store_
          ->apply({gateway("b", "{}", "ns1"), gateway("a", "{}", "ns2"),
                   objectFromYaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: ns1}\n"),
                   objectFromYaml("apiVersion: v1\nkind: Service\nmetadata: {name: s, "
                                  "namespace: ns1}\n")})
          .ok());
  EXPECT_EQ(names("Gateway"), (std::vector<std::string>{"Gateway ns1/b", "Gateway ns2/a"}));
  EXPECT_EQ(names({}, "ns1"), (std::vector<std::string>{"Gateway ns1/b", "Service ns1/s"}));
  EXPECT_EQ(names("Namespace", ""), std::vector<std::string>{"Namespace ns1"});
  EXPECT_EQ(names().size(), 4u);
}

TEST_P(ConfigStoreTest, UnwatchStopsEvents) {
  int calls = 0;
  const WatchId id = store_->watch([&](const std::vector<ConfigChange>&) { ++calls; });
  ASSERT_TRUE(store_->apply({gateway("a")}).ok());
  store_->unwatch(id);
  ASSERT_TRUE(store_->apply({gateway("b")}).ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(batches_.size(), 2u);
}

TEST_P(ConfigStoreTest, WatchersMayReadTheStoreAndSeeTheWrite) {
  std::optional<ConfigObject> seen;
  store_->watch(
      [&](const std::vector<ConfigChange>& changes) { seen = store_->get(changes[0].key); });
  ASSERT_TRUE(store_->apply({gateway("a", "{x: 2}")}).ok());
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->spec()["x"], 2);
}

INSTANTIATE_TEST_SUITE_P(Stores, ConfigStoreTest,
                         ::testing::Values(StoreType::kMemory, StoreType::kFile),
                         [](const auto& param_info) {
                           return param_info.param == StoreType::kMemory ? "Memory" : "File";
                         });

} // namespace
} // namespace meshd::control::config
