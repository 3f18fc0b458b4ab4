// The meshctl binary against a real meshd (port 0, a temp config dir): apply (created, unchanged,
// configured, rejected with file:line), get (table, yaml), delete, validate offline, analyze
// (live config plus files), proxy-status with no proxies, and meshd unreachable.
#include <fstream>

#include "nlohmann/json.hpp"
#include "test/support/meshd.h"
#include "test/support/process.h"
#include "test/support/temp_dir.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kReviews = R"(apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
)";

constexpr const char* kVsOnly = R"(apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: ratings
spec:
  hosts: [ratings]
  http:
  - route:
    - destination: {host: ratings, subset: v2}
)";

constexpr const char* kRatingsRule = R"(apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: ratings
spec:
  host: ratings
  subsets:
  - {name: v2, labels: {version: v2}}
)";

struct Result {
  std::optional<int> exit;
  std::string out;
  std::string err;
};

class MeshctlTest : public ::testing::Test {
protected:
  void SetUp() override {
    meshd_ = std::make_unique<Meshd>(dir_.path() / "config");
    ASSERT_TRUE(meshd_->started()) << meshd_->logs();
    address_ = "http://127.0.0.1:" + std::to_string(meshd_->httpPort());
  }

  Result meshctl(std::vector<std::string> args, const std::string& address = {}) {
    args.insert(args.begin(), (binaryDir() / "meshctl").string());
    Process process(
        {.argv = args, .extraEnv = {{"MESHD_ADDR", address.empty() ? address_ : address}}});
    Result result;
    result.exit = process.wait(30s);
    result.out = process.output();
    result.err = process.errors();
    return result;
  }

  std::string write(const std::string& name, const std::string& text) {
    const fs::path path = dir_.path() / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }

  TempDir dir_;
  std::unique_ptr<Meshd> meshd_;
  std::string address_;
};

TEST_F(MeshctlTest, ApplyReportsCreatedUnchangedConfigured) {
  const std::string file = write("reviews.yaml", kReviews);
  Result first = meshctl({"apply", "-f", file});
  ASSERT_EQ(first.exit, 0) << first.err;
  EXPECT_EQ(first.out, "virtualservice.networking.istio.io/reviews created\n"
                       "destinationrule.networking.istio.io/reviews created\n");
  Result again = meshctl({"apply", "-f", file});
  ASSERT_EQ(again.exit, 0) << again.err;
  EXPECT_EQ(again.out, "virtualservice.networking.istio.io/reviews unchanged\n"
                       "destinationrule.networking.istio.io/reviews unchanged\n");
  std::string changed = kReviews;
  changed.replace(changed.find("hosts: [reviews]"), 16, "hosts: [reviews, reviews.default]");
  write("reviews.yaml", changed);
  Result third = meshctl({"apply", "-f", file});
  ASSERT_EQ(third.exit, 0) << third.err;
  EXPECT_EQ(third.out, "virtualservice.networking.istio.io/reviews configured\n"
                       "destinationrule.networking.istio.io/reviews unchanged\n");
  Result dryRun =
      meshctl({"apply", "--dry-run", "-f",
               write("more/ratings.yaml", std::string(kRatingsRule) + "---\n" + kVsOnly)});
  ASSERT_EQ(dryRun.exit, 0) << dryRun.err;
  EXPECT_EQ(dryRun.out, "destinationrule.networking.istio.io/ratings created (dry run)\n"
                        "virtualservice.networking.istio.io/ratings created (dry run)\n");
  EXPECT_EQ(meshctl({"get", "vs", "ratings"}).exit, 1); // the dry run wrote nothing
}

TEST_F(MeshctlTest, ApplyDirectoryInNamespace) {
  // Files go in name order, one request each: the rule before the VirtualService using its subset.
  write("dir/a.yml", kRatingsRule);
  write("dir/b.yaml", kVsOnly);
  write("dir/notes.txt", "not config");
  Result applied = meshctl({"apply", "-n", "bookinfo", "-f", (dir_.path() / "dir").string()});
  ASSERT_EQ(applied.exit, 0) << applied.err;
  EXPECT_EQ(applied.out, "destinationrule.networking.istio.io/ratings created\n"
                         "virtualservice.networking.istio.io/ratings created\n");
  EXPECT_EQ(meshctl({"get", "dr", "ratings", "-n", "bookinfo"}).exit, 0);
}

TEST_F(MeshctlTest, RejectedFilePrintsDiagnosticsWithFileAndLine) {
  const std::string file = write("bad.yaml", "apiVersion: networking.istio.io/v1\n"
                                             "kind: Gateway\n"
                                             "metadata:\n"
                                             "  name: Not_Valid\n");
  Result rejected = meshctl({"apply", "-f", file});
  EXPECT_EQ(rejected.exit, 1);
  EXPECT_NE(
      rejected.err.find(
          file + ":4: error: Gateway Not_Valid: metadata.name: 'Not_Valid' is not a valid name"),
      std::string::npos)
      << rejected.err;
  EXPECT_EQ(rejected.out, "");
  Result none = meshctl({"get", "gateways"});
  EXPECT_EQ(none.exit, 0);
  EXPECT_EQ(none.out, "");
  EXPECT_EQ(none.err, "No gateways found in namespace default.\n");
}

TEST_F(MeshctlTest, GetTableAndYaml) {
  ASSERT_EQ(meshctl({"apply", "-f", write("reviews.yaml", kReviews)}).exit, 0);
  Result json = meshctl({"get", "VirtualService", "reviews", "-o", "json"});
  ASSERT_EQ(json.exit, 0) << json.err;
  const nlohmann::json object = nlohmann::json::parse(json.out);
  EXPECT_EQ(object["spec"]["hosts"][0], "reviews");
  const std::string version = object["metadata"]["resourceVersion"];
  Result table = meshctl({"get", "vs"});
  ASSERT_EQ(table.exit, 0) << table.err;
  EXPECT_EQ(table.out, "NAME      NAMESPACE   GATEWAYS   HOSTS     VERSION\n"
                       "reviews   default                reviews   " +
                           version + "\n");
  Result all = meshctl({"get", "destinationrules", "-A"});
  EXPECT_EQ(all.out, "NAME      NAMESPACE   HOST      VERSION\n"
                     "reviews   default     reviews   " +
                         version + "\n");
  Result yaml = meshctl({"get", "VirtualService", "reviews", "-o", "yaml"});
  ASSERT_EQ(yaml.exit, 0) << yaml.err;
  EXPECT_NE(yaml.out.find("kind: VirtualService\n"), std::string::npos) << yaml.out;
  EXPECT_NE(yaml.out.find("  resourceVersion: \"" + version + "\"\n"), std::string::npos)
      << yaml.out;
  EXPECT_NE(yaml.out.find("            subset: v1\n"), std::string::npos) << yaml.out;
  Result missing = meshctl({"get", "vs", "nope"});
  EXPECT_EQ(missing.exit, 1);
  EXPECT_NE(missing.err.find("nope"), std::string::npos) << missing.err;
  EXPECT_EQ(meshctl({"get", "widgets"}).exit, 2);
}

TEST_F(MeshctlTest, DeleteByNameAndByFile) {
  const std::string file = write("reviews.yaml", kReviews);
  ASSERT_EQ(meshctl({"apply", "-f", file}).exit, 0);
  Result byName = meshctl({"delete", "vs", "reviews"});
  ASSERT_EQ(byName.exit, 0) << byName.err;
  EXPECT_EQ(byName.out, "virtualservice.networking.istio.io/reviews deleted\n");
  Result again = meshctl({"delete", "vs", "reviews"});
  EXPECT_EQ(again.exit, 1);
  EXPECT_NE(again.err.find("not found"), std::string::npos) << again.err;
  EXPECT_EQ(meshctl({"delete", "-f", file}).exit, 1); // the VirtualService is gone: all or nothing
  Result byFile = meshctl({"delete", "-f", file, "--ignore-not-found"});
  ASSERT_EQ(byFile.exit, 0) << byFile.err;
  EXPECT_EQ(byFile.out, "destinationrule.networking.istio.io/reviews deleted\n");
  EXPECT_EQ(meshctl({"get", "dr", "reviews"}).exit, 1);
}

TEST_F(MeshctlTest, ValidateIsOffline) {
  const std::string unreachable = "http://127.0.0.1:" + std::to_string(pickFreePort());
  const std::string vs = write("vs.yaml", kVsOnly);
  Result errors = meshctl({"validate", "-f", vs}, unreachable);
  EXPECT_EQ(errors.exit, 1) << errors.err;
  EXPECT_NE(errors.out.find(vs + ":9: error: VirtualService default/ratings: "
                                 "spec.http[0].route[0].destination.subset: Referenced "
                                 "host+subset in destinationrule not found"),
            std::string::npos)
      << errors.out;
  // Cross-object checks see every file given; a missing host alone is a warning.
  Result fine = meshctl({"validate", "-f", vs, "-f", write("dr.yaml", kRatingsRule)}, unreachable);
  EXPECT_EQ(fine.exit, 0) << fine.out;
  EXPECT_NE(fine.out.find("warning: VirtualService default/ratings"), std::string::npos)
      << fine.out;
  EXPECT_NE(fine.out.find("0 errors, 1 warning"), std::string::npos) << fine.out;
  EXPECT_EQ(meshctl({"validate", "-f", (dir_.path() / "missing.yaml").string()}).exit, 1);
}

TEST_F(MeshctlTest, AnalyzeLiveConfigWithFiles) {
  // meshd refuses a dangling subset on write, but deletes are not validated: removing the rule
  // leaves the VirtualService pointing at nothing, which analyze finds.
  const std::string dr = write("dr.yaml", kRatingsRule);
  ASSERT_EQ(meshctl({"apply", "-f", dr}).exit, 0);
  ASSERT_EQ(meshctl({"apply", "-f", write("vs.yaml", kVsOnly)}).exit, 0);
  ASSERT_EQ(meshctl({"delete", "-f", dr}).exit, 0);
  Result broken = meshctl({"analyze"});
  EXPECT_EQ(broken.exit, 1) << broken.err;
  EXPECT_NE(broken.out.find("error: VirtualService default/ratings: "
                            "spec.http[0].route[0].destination.subset"),
            std::string::npos)
      << broken.out;
  Result fixed = meshctl({"analyze", "-f", dr});
  EXPECT_EQ(fixed.exit, 0) << fixed.out;
  EXPECT_EQ(fixed.out.find("error:"), std::string::npos) << fixed.out;
  EXPECT_EQ(meshctl({"analyze", "-n", "other"}).exit, 0); // the finding is in namespace default
}

TEST_F(MeshctlTest, ProxyStatusWithNoProxies) {
  Result status = meshctl({"proxy-status"});
  EXPECT_EQ(status.exit, 0) << status.err;
  EXPECT_EQ(status.out, "NAME   CDS   LDS   EDS   RDS\n");
}

TEST_F(MeshctlTest, UnreachableMeshdExitsThree) {
  const std::string unreachable = "http://127.0.0.1:" + std::to_string(pickFreePort());
  for (std::vector<std::string> args :
       std::vector<std::vector<std::string>>{{"get", "vs"}, {"proxy-status"}, {"analyze"}}) {
    Result result = meshctl(args, unreachable);
    EXPECT_EQ(result.exit, 3) << args[0];
    EXPECT_NE(result.err.find("meshd is not reachable at " + unreachable), std::string::npos)
        << result.err;
  }
  Result flag = meshctl({"--meshd", address_, "version"}, unreachable);
  EXPECT_EQ(flag.exit, 0);
  EXPECT_EQ(flag.out, "meshctl version 0.1.0\n");
}

} // namespace
} // namespace meshd::testing
