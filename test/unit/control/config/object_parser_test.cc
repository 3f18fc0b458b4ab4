// Tests for reading API objects from text: kinds, versions, names, namespaces and line numbers.
#include "control/config/object_parser.h"

#include "gtest/gtest.h"

namespace meshd::control::config {
namespace {

std::string onlyError(const ParseResult& result) {
  EXPECT_EQ(result.diagnostics.size(), 1u);
  return result.diagnostics.empty() ? "" : result.diagnostics[0].toString();
}

TEST(ObjectParserTest, ReadsObjectsAndDefaultsTheNamespace) {
  const ParseResult result = parseObjects(R"(apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
---
apiVersion: v1
kind: Namespace
metadata: {name: bookinfo}
)",
                                          "vs.yaml", "team-a");
  ASSERT_TRUE(result.diagnostics.empty()) << result.diagnostics[0].toString();
  ASSERT_EQ(result.objects.size(), 2u);
  const ConfigObject& vs = result.objects[0];
  EXPECT_EQ(vs.key, (ObjectKey{"VirtualService", "team-a", "reviews"}));
  EXPECT_EQ(vs.apiVersion, "networking.istio.io/v1beta1");
  EXPECT_EQ(vs.json["metadata"]["namespace"], "team-a");
  EXPECT_EQ(vs.spec()["hosts"][0], "reviews");
  EXPECT_EQ(vs.lineOf("/spec/hosts/0"), 6);
  EXPECT_EQ(vs.lineOf("/spec/http/0/route"), 6) << "falls back to the nearest ancestor (its value)";
  EXPECT_EQ(result.objects[1].key, (ObjectKey{"Namespace", "", "bookinfo"}));
  EXPECT_EQ(result.objects[1].lines.at("/metadata/name"), 10);
}

TEST(ObjectParserTest, RejectsUnknownKindsAndVersions) {
  EXPECT_EQ(onlyError(parseObjects("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n", "a.yaml")),
            "a.yaml:2: error: kind: unknown kind 'Pod' (known: VirtualService, DestinationRule, "
            "Gateway, ServiceEntry, Sidecar, WorkloadEntry, WorkloadGroup, PeerAuthentication, "
            "AuthorizationPolicy, RequestAuthentication, Telemetry, Service, Namespace, "
            "LocalWorkload)");
  EXPECT_EQ(onlyError(parseObjects("apiVersion: networking.istio.io/v2\nkind: Gateway\n"
                                   "metadata: {name: x}\n",
                                   "g.yaml")),
            "g.yaml:1: error: apiVersion: Gateway is not served as 'networking.istio.io/v2' (use "
            "networking.istio.io/v1, networking.istio.io/v1beta1, networking.istio.io/v1alpha3)");
  EXPECT_EQ(onlyError(parseObjects("kind: 3\n", "k.yaml")),
            "k.yaml:1: error: kind: kind is required and must be a string");
}

TEST(ObjectParserTest, RejectsBadNamesAndNamespaces) {
  EXPECT_EQ(onlyError(parseObjects("apiVersion: v1\nkind: Service\nmetadata:\n  name: Reviews\n",
                                   "s.yaml")),
            "s.yaml:4: error: Service Reviews: metadata.name: 'Reviews' is not a valid "
            "name (lowercase letters, digits, '-' and '.', starting and ending with a letter or "
            "digit, at most 253 characters)");
  EXPECT_EQ(onlyError(parseObjects("apiVersion: v1\nkind: Service\nmetadata:\n  name: r\n"
                                   "  namespace: a.b\n",
                                   "s.yaml")),
            "s.yaml:5: error: Service r: metadata.namespace: metadata.namespace must be a DNS "
            "label (lowercase letters, digits and '-', at most 63 characters)");
  EXPECT_EQ(onlyError(parseObjects("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: n\n"
                                   "  namespace: x\n",
                                   "n.yaml")),
            "n.yaml:5: error: Namespace n: metadata.namespace: Namespace is cluster-scoped and has "
            "no namespace");
  EXPECT_EQ(onlyError(parseObjects("apiVersion: v1\nkind: Service\n", "s.yaml")),
            "s.yaml:1: error: metadata: metadata is required and must be an object");
}

TEST(ObjectParserTest, SyntaxErrorsAndDuplicatesAreReported) {
  EXPECT_EQ(onlyError(parseObjects("a: [1\n", "bad.yaml"))
                .rfind("bad.yaml: error: not valid YAML "
                       "or JSON: line ",
                       0),
            0u);
  const ParseResult twice =
      parseObjects("apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n---\napiVersion: v1\n"
                   "kind: Namespace\nmetadata: {name: n}\n",
                   "n.yaml");
  EXPECT_EQ(twice.objects.size(), 1u);
  EXPECT_EQ(onlyError(twice),
            "n.yaml:7: error: Namespace n: metadata.name: the same object appears twice in this "
            "input");
  EXPECT_EQ(onlyError(parseObjects("[1, 2]\n", "l.yaml")),
            "l.yaml:1: error: a document must be an object with apiVersion, kind and metadata");
}

TEST(ObjectParserTest, ParsesJsonFromTheApi) {
  const ParseResult result = parseObject(nlohmann::json::parse(
      R"({"apiVersion":"security.istio.io/v1","kind":"PeerAuthentication",
          "metadata":{"name":"default","namespace":"istio-system"},"spec":{"mtls":{"mode":"STRICT"}}})"));
  ASSERT_EQ(result.objects.size(), 1u);
  EXPECT_EQ(result.objects[0].key.toString(), "PeerAuthentication istio-system/default");
  EXPECT_EQ(result.objects[0].lineOf("/spec"), 0);
}

TEST(DiagnosticTest, FieldPathsFromPointers) {
  EXPECT_EQ(fieldPathFromPointer(""), "");
  EXPECT_EQ(fieldPathFromPointer("/spec/http/0/route/12/weight"), "spec.http[0].route[12].weight");
  EXPECT_EQ(fieldPathFromPointer("/metadata/labels/app~1name"), "metadata.labels.app/name");
}

} // namespace
} // namespace meshd::control::config
