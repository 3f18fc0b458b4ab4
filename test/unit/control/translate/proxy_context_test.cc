// Tests for reading who a proxy is from its xDS Node.
#include "control/translate/proxy_context.h"

#include "gtest/gtest.h"

namespace meshd::control::translate {
namespace {

TEST(ProxyContextTest, IstioNodeIdAndMetadata) {
  envoy::config::core::v3::Node node;
  node.set_id("router~10.0.0.9~gw-1.istio-system~istio-system.svc.cluster.local");
  auto& fields = *node.mutable_metadata()->mutable_fields();
  fields["WORKLOAD_NAME"].set_string_value("ingressgateway");
  fields["INSTANCE_IPS"].set_string_value("10.0.0.9,fd00::9");
  (*fields["LABELS"].mutable_struct_value()->mutable_fields())["istio"].set_string_value(
      "ingressgateway");
  const ProxyContext proxy = ProxyContext::fromNode(node);
  EXPECT_EQ(proxy.type, ProxyContext::Type::kRouter);
  EXPECT_EQ(proxy.ns, "istio-system");
  EXPECT_EQ(proxy.podName, "gw-1");
  EXPECT_EQ(proxy.workloadName, "ingressgateway");
  EXPECT_EQ(proxy.ips, (std::vector<std::string>{"10.0.0.9", "fd00::9"}));
  EXPECT_EQ(proxy.labels.at("istio"), "ingressgateway");
  EXPECT_EQ(proxy.serviceAccount, "default");
}

TEST(ProxyContextTest, ProxylessGrpcAndBareIds) {
  envoy::config::core::v3::Node grpc;
  grpc.set_id("grpc-client");
  (*grpc.mutable_metadata()->mutable_fields())["GENERATOR"].set_string_value("grpc");
  (*grpc.mutable_metadata()->mutable_fields())["NAMESPACE"].set_string_value("team");
  const ProxyContext client = ProxyContext::fromNode(grpc);
  EXPECT_EQ(client.type, ProxyContext::Type::kProxylessGrpc);
  EXPECT_EQ(client.ns, "team");
  envoy::config::core::v3::Node bare;
  bare.set_id("whatever");
  EXPECT_EQ(ProxyContext::fromNode(bare).type, ProxyContext::Type::kSidecar);
  EXPECT_EQ(ProxyContext::fromNode(bare).ns, "default");
}

TEST(ProxyContextTest, ExplicitProxyPortFromMetadata) {
  envoy::config::core::v3::Node node;
  node.set_id("sidecar~127.0.0.10~productpage-v1-0.default~default.svc.cluster.local");
  auto& fields = *node.mutable_metadata()->mutable_fields();
  EXPECT_EQ(ProxyContext::fromNode(node).explicitProxyPort, 0u) << "absent: no explicit proxy";
  fields["MESHD_EXPLICIT_PROXY_PORT"].set_number_value(15080);
  EXPECT_EQ(ProxyContext::fromNode(node).explicitProxyPort, 15080u);
  fields["MESHD_EXPLICIT_PROXY_PORT"].set_string_value("15081");
  EXPECT_EQ(ProxyContext::fromNode(node).explicitProxyPort, 15081u);
  fields["MESHD_EXPLICIT_PROXY_PORT"].set_string_value("70000");
  EXPECT_EQ(ProxyContext::fromNode(node).explicitProxyPort, 0u) << "not a port";
}

TEST(ProxyContextTest, InterceptionModeNoneAndAppAddress) {
  envoy::config::core::v3::Node node;
  node.set_id("sidecar~127.77.1.3~productpage-v1-0.default~default.svc.cluster.local");
  auto& fields = *node.mutable_metadata()->mutable_fields();
  fields["INSTANCE_IPS"].set_string_value("127.77.1.3");
  EXPECT_TRUE(ProxyContext::fromNode(node).captured) << "capture is the default";
  EXPECT_EQ(ProxyContext::fromNode(node).bindAddress(), "0.0.0.0");
  fields["INTERCEPTION_MODE"].set_string_value("REDIRECT");
  EXPECT_TRUE(ProxyContext::fromNode(node).captured);
  fields["INTERCEPTION_MODE"].set_string_value("NONE");
  fields["MESHD_APP_ADDRESS"].set_string_value("127.78.1.3");
  const ProxyContext proxy = ProxyContext::fromNode(node);
  EXPECT_FALSE(proxy.captured);
  EXPECT_EQ(proxy.bindAddress(), "127.77.1.3");
  EXPECT_EQ(proxy.appAddress, "127.78.1.3");
}

} // namespace
} // namespace meshd::control::translate
