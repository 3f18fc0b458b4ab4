// Tests for the node identity a proxy presents to the control plane (Istio's node id and metadata).
#include "proxy/server/node_identity.h"

#include "gtest/gtest.h"

namespace meshd::proxy::server {
namespace {

TEST(NodeIdentityTest, SidecarDefaultsFollowIstio) {
  NodeIdentity identity;
  identity.workloadName = "reviews-v1";
  identity.ns = "bookinfo";
  identity.labels = {{"app", "reviews"}, {"version", "v1"}};
  ASSERT_TRUE(validateNodeIdentity(identity).ok());
  envoy::config::core::v3::Node node;
  (*node.mutable_metadata()->mutable_fields())["CUSTOM"].set_string_value("kept");
  applyNodeIdentity(identity, node);
  EXPECT_EQ(node.id(), "sidecar~127.0.0.1~reviews-v1.bookinfo~bookinfo.svc.cluster.local");
  EXPECT_EQ(node.cluster(), "reviews.bookinfo");
  const auto& fields = node.metadata().fields();
  EXPECT_EQ(fields.at("SERVICE_ACCOUNT").string_value(), "default");
  EXPECT_EQ(fields.at("NAME").string_value(), "reviews-v1");
  EXPECT_EQ(fields.at("INSTANCE_IPS").string_value(), "127.0.0.1");
  EXPECT_EQ(fields.at("LABELS").struct_value().fields().at("version").string_value(), "v1");
  EXPECT_EQ(fields.at("CUSTOM").string_value(), "kept");
}

TEST(NodeIdentityTest, BadValuesAreRefusedWithTheReason) {
  NodeIdentity identity;
  identity.proxyType = "gateway";
  EXPECT_EQ(validateNodeIdentity(identity).message(),
            "proxy type 'gateway' is neither 'sidecar' nor 'router'");
  identity.proxyType = "router";
  identity.ns = "Bad_NS";
  EXPECT_EQ(validateNodeIdentity(identity).message(), "namespace 'Bad_NS' is not a DNS label");
  identity.ns = "ok";
  identity.serviceAccount = "a.b";
  EXPECT_EQ(validateNodeIdentity(identity).message(), "service account 'a.b' is not a DNS label");
  identity.serviceAccount = "sa";
  identity.ips = {"10.0.0.1", "nope"};
  EXPECT_EQ(validateNodeIdentity(identity).message(), "'nope' is not an IP address");
}

} // namespace
} // namespace meshd::proxy::server
