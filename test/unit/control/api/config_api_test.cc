// The config REST API's routing, status codes and bodies, on a MemoryConfigStore with the fake
// validator, called without HTTP; one test goes through the HTTP server for the size limit.
#include "control/api/config_api.h"

#include <thread>

#include "control/config/kinds.h"
#include "control/config/store/basic_config_store.h"
#include "core/stats/store.h"
#include "test/support/http_client.h"
#include "test/unit/control/config/store/fake_validator.h"
#include "gtest/gtest.h"

namespace meshd::control::api {
namespace {

using core::AdminRequest;
using core::AdminResponse;

constexpr const char* kTwoGateways = R"(apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: a}
spec: {}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: b, namespace: other}
spec: {selector: {istio: ingress}}
)";

std::string gatewayJson(const std::string& name, const std::string& ns, const std::string& spec,
                        const std::string& resourceVersion = "") {
  nlohmann::json json = {{"apiVersion", "networking.istio.io/v1"},
                         {"kind", "Gateway"},
                         {"metadata", {{"name", name}, {"namespace", ns}}},
                         {"spec", nlohmann::json::parse(spec)}};
  if (!resourceVersion.empty()) {
    json["metadata"]["resourceVersion"] = resourceVersion;
  }
  return json.dump();
}

class ConfigApiTest : public ::testing::Test {
protected:
  struct Reply {
    int status;
    nlohmann::json body;
  };

  Reply call(const std::string& method, const std::string& target, const std::string& body = "") {
    AdminRequest request;
    request.method = method;
    const size_t question = target.find('?');
    request.path = target.substr(0, question);
    if (question != std::string::npos) {
      request.query = core::parseQueryString(target.substr(question + 1));
    }
    request.body = body;
    const AdminResponse response = api_.handle(request);
    EXPECT_EQ(response.contentType, "application/json");
    return {response.status, nlohmann::json::parse(response.body, nullptr, false)};
  }

  std::vector<std::string> listed(const std::string& target) {
    std::vector<std::string> out;
    const Reply reply = call("GET", target);
    for (const auto& item : reply.body["items"]) {
      out.push_back(item["metadata"].value("namespace", "") + "/" +
                    item["metadata"]["name"].get<std::string>());
    }
    return out;
  }

  uint64_t writes(const std::string& result) {
    return stats_.counter("config_writes", {{"result", result}}).value();
  }

  config::FakeValidator validator_;
  config::MemoryConfigStore store_{validator_};
  stats::Store stats_;
  ConfigApi api_{store_, stats_};
};

TEST_F(ConfigApiTest, ApplyThenGetAndList) {
  const Reply applied = call("POST", "/apis/v1/apply?file=gw.yaml", kTwoGateways);
  ASSERT_EQ(applied.status, 200) << applied.body;
  EXPECT_EQ(applied.body["kind"], "WriteResult");
  EXPECT_EQ(
      applied.body["items"][1],
      (nlohmann::json{
          {"kind", "Gateway"}, {"namespace", "other"}, {"name", "b"}, {"action", "created"}}));
  const std::string version = applied.body["resourceVersion"];

  const Reply got = call("GET", "/apis/v1/namespaces/other/gateways/b");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.body["spec"]["selector"]["istio"], "ingress");
  EXPECT_EQ(got.body["metadata"]["resourceVersion"], version);
  EXPECT_EQ(listed("/apis/v1/gateways"), (std::vector<std::string>{"default/a", "other/b"}));
  EXPECT_EQ(listed("/apis/v1/namespaces/other/gateways"), std::vector<std::string>{"other/b"});
  EXPECT_EQ(listed("/apis/v1/namespaces/nobody/gateways"), std::vector<std::string>{});
  EXPECT_EQ(call("GET", "/apis/v1/gateways").body["metadata"]["resourceVersion"], version);

  const Reply again = call("POST", "/apis/v1/apply", kTwoGateways);
  EXPECT_EQ(again.body["items"][0]["action"], "unchanged");
  EXPECT_EQ(writes("accepted"), 2u);
}

TEST_F(ConfigApiTest, ARejectedApplyListsEveryDiagnosticAndChangesNothing) {
  ASSERT_EQ(call("POST", "/apis/v1/apply", kTwoGateways).status, 200);
  const std::string bad = std::string(kTwoGateways) +
                          "---\napiVersion: networking.istio.io/v1\nkind: Gateway\n"
                          "metadata: {name: c}\nspec:\n  warn: true\n  invalid: true\n";
  const Reply rejected = call("POST", "/apis/v1/apply?file=bad.yaml", bad);
  ASSERT_EQ(rejected.status, 400);
  EXPECT_EQ(rejected.body["kind"], "Status");
  EXPECT_EQ(rejected.body["reason"], "Invalid");
  ASSERT_EQ(rejected.body["diagnostics"].size(), 2u);
  EXPECT_EQ(rejected.body["diagnostics"][1]["severity"], "warning");
  EXPECT_EQ(rejected.body["diagnostics"][0],
            (nlohmann::json{
                {"severity", "error"},
                {"file", "bad.yaml"},
                {"line", 16},
                {"object", {{"kind", "Gateway"}, {"namespace", "default"}, {"name", "c"}}},
                {"field", "spec.invalid"},
                {"message", "this object is invalid"},
                {"text", "bad.yaml:16: error: Gateway default/c: spec.invalid: this object is "
                         "invalid"}}));
  EXPECT_NE(rejected.body["message"].get<std::string>().find("bad.yaml:16"), std::string::npos);
  EXPECT_EQ(call("GET", "/apis/v1/namespaces/default/gateways/c").status, 404);
  EXPECT_EQ(writes("rejected"), 1u);
}

TEST_F(ConfigApiTest, DryRunValidatesWithoutWriting) {
  const Reply dry = call("POST", "/apis/v1/apply?dryRun=true", kTwoGateways);
  ASSERT_EQ(dry.status, 200);
  EXPECT_EQ(dry.body["dryRun"], true);
  EXPECT_EQ(dry.body["items"][0]["action"], "created");
  EXPECT_EQ(listed("/apis/v1/gateways"), std::vector<std::string>{});
  EXPECT_EQ(
      call("POST", "/apis/v1/apply?dryRun=All", gatewayJson("x", "default", R"({"invalid": true})"))
          .status,
      400);
  EXPECT_EQ(writes("accepted"), 0u);
}

TEST_F(ConfigApiTest, BadBodiesAre400) {
  EXPECT_EQ(call("POST", "/apis/v1/apply", "{\"kind\": ").status, 400);
  EXPECT_EQ(call("POST", "/apis/v1/apply", "").body["message"], "the body holds no objects");
  const Reply unknownKind =
      call("POST", "/apis/v1/apply", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n");
  EXPECT_EQ(unknownKind.status, 400);
  EXPECT_EQ(unknownKind.body["diagnostics"][0]["field"], "kind");
  EXPECT_EQ(call("POST", "/apis/v1/namespaces/default/gateways", "[1, 2").status, 400);
  EXPECT_EQ(
      call("POST", "/apis/v1/namespaces/default/virtualservices", gatewayJson("a", "default", "{}"))
          .body["message"],
      "the body is a Gateway; this path takes VirtualService");
  EXPECT_EQ(
      call("POST", "/apis/v1/namespaces/default/gateways", gatewayJson("a", "other", "{}")).status,
      400);
  EXPECT_EQ(call("PUT", "/apis/v1/namespaces/default/gateways/a",
                 gatewayJson("a", "default", "{}", "twelve"))
                .status,
            400);
  const std::string unnamespaced =
      "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: a}\n";
  EXPECT_EQ(call("POST", "/apis/v1/apply?namespace=..", unnamespaced).status, 400);
  EXPECT_EQ(call("POST", "/apis/v1/namespaces/../gateways", unnamespaced).status, 400);
  EXPECT_EQ(call("POST", "/apis/v1/namespaces/Upper/gateways", unnamespaced).status, 400);
  EXPECT_TRUE(store_.list().empty());
}

TEST_F(ConfigApiTest, CreateReplaceAndDeleteOneObject) {
  const std::string path = "/apis/v1/namespaces/default/gateways";
  const Reply created = call("POST", path, gatewayJson("a", "default", "{}"));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string version = created.body["object"]["metadata"]["resourceVersion"];
  const Reply exists = call("POST", path, gatewayJson("a", "default", "{}"));
  EXPECT_EQ(exists.status, 409);
  EXPECT_EQ(exists.body["reason"], "AlreadyExists");

  EXPECT_EQ(call("PUT", path + "/b", gatewayJson("a", "default", "{}")).status, 400)
      << "name differs from the path";
  EXPECT_EQ(call("PUT", path + "/zz", gatewayJson("zz", "default", "{}")).status, 404);
  const Reply stale = call("PUT", path + "/a", gatewayJson("a", "default", R"({"x": 1})", "999"));
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(stale.body["reason"], "Conflict");
  const Reply replaced =
      call("PUT", path + "/a", gatewayJson("a", "default", R"({"x": 1})", version));
  ASSERT_EQ(replaced.status, 200) << replaced.body;
  EXPECT_EQ(replaced.body["object"]["spec"]["x"], 1);
  EXPECT_EQ(replaced.body["items"][0]["action"], "configured");

  EXPECT_EQ(call("DELETE", path + "/a?dryRun=true").status, 200);
  EXPECT_EQ(call("GET", path + "/a").status, 200);
  EXPECT_EQ(call("DELETE", path + "/a").body["items"][0]["action"], "deleted");
  EXPECT_EQ(call("GET", path + "/a").status, 404);
  EXPECT_EQ(call("DELETE", path + "/a").status, 404);
}

TEST_F(ConfigApiTest, DeleteDocuments) {
  ASSERT_EQ(call("POST", "/apis/v1/apply", kTwoGateways).status, 200);
  const std::string one =
      "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: a}\n";
  const std::string withMissing =
      one + "---\napiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gone}\n";
  EXPECT_EQ(call("POST", "/apis/v1/delete", withMissing).status, 404);
  EXPECT_EQ(listed("/apis/v1/gateways").size(), 2u);
  const Reply deleted = call("POST", "/apis/v1/delete?ignoreNotFound=true", withMissing);
  ASSERT_EQ(deleted.status, 200);
  EXPECT_EQ(deleted.body["items"].size(), 1u);
  EXPECT_EQ(listed("/apis/v1/gateways"), std::vector<std::string>{"other/b"});
}

TEST_F(ConfigApiTest, ClusterScopedKindsAndDiscovery) {
  const Reply created =
      call("POST", "/apis/v1/namespaces", R"({"apiVersion": "v1", "kind": "Namespace",
                                               "metadata": {"name": "team-a"}})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(call("GET", "/apis/v1/namespaces/team-a").body["metadata"]["name"], "team-a");
  EXPECT_EQ(listed("/apis/v1/namespaces"), std::vector<std::string>{"/team-a"});
  EXPECT_EQ(call("GET", "/apis/v1/gateways/a").status, 404) << "namespaced kind, no namespace";
  EXPECT_EQ(call("POST", "/apis/v1/gateways", gatewayJson("a", "default", "{}")).status, 405);

  const Reply kinds = call("GET", "/apis/v1");
  ASSERT_EQ(kinds.status, 200);
  EXPECT_EQ(kinds.body["resources"].size(), config::knownKinds().size());
  EXPECT_EQ(kinds.body["resources"][0]["plural"], "virtualservices");
}

TEST_F(ConfigApiTest, UnknownPathsKindsAndMethods) {
  EXPECT_EQ(call("GET", "/apis/v1/pods").status, 404);
  EXPECT_EQ(call("GET", "/apis/v1/VirtualServices").status, 404) << "plurals are lowercase";
  EXPECT_EQ(call("GET", "/apis/v1/namespaces/a/gateways/b/c").status, 404);
  EXPECT_EQ(call("GET", "/apis/v1/apply").status, 405);
  EXPECT_EQ(call("PATCH", "/apis/v1/namespaces/a/gateways/b").status, 405);
  EXPECT_EQ(call("DELETE", "/apis/v1/gateways").status, 405);
}

TEST(ConfigApiHttpTest, ABodyOverTheLimitIs413) {
  config::FakeValidator validator;
  config::MemoryConfigStore store(validator);
  stats::Store stats;
  ConfigApi api(store, stats);
  core::EventLoop loop("api");
  core::AdminHttpServer server(loop, /*maxRequestBytes=*/4096);
  api.registerOn(server);
  auto bound = server.listen("127.0.0.1", 0);
  ASSERT_TRUE(bound.ok());
  std::thread thread([&] { loop.run(); });
  const auto small = testing::httpRequest(bound->port(), "POST", "/apis/v1/apply", kTwoGateways);
  const auto large = testing::httpRequest(bound->port(), "POST", "/apis/v1/apply",
                                          kTwoGateways + std::string(8192, '#'));
  const auto discovery = testing::httpGet(bound->port(), "/apis/v1");
  loop.post([&] { server.close(); });
  loop.stop();
  thread.join();
  EXPECT_EQ(small.status, 200) << small.body;
  EXPECT_EQ(large.status, 413);
  EXPECT_EQ(discovery.status, 200);
  EXPECT_EQ(store.list().size(), 2u);
}

} // namespace
} // namespace meshd::control::api
