// Checks on the generated Envoy proto library: descriptors of extension types that no code names
// are linked in (typed_config is decoded by type URL), and the build-time fixes to the package's
// protos keep the JSON names users write.
#include <memory>
#include <string>

#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/filters/http/jwt_authn/v3/config.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace meshd::xds {
namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::MessageFactory;

TEST(EnvoyProtosTest, ExtensionTypesAreFoundByName) {
  for (const char* name : {
           "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
           "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
           "envoy.extensions.filters.http.router.v3.Router",
           "envoy.extensions.filters.http.fault.v3.HTTPFault",
           "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
           "envoy.extensions.filters.http.rbac.v3.RBAC",
           "envoy.extensions.filters.listener.original_dst.v3.OriginalDst",
           "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector",
           "envoy.extensions.filters.listener.http_inspector.v3.HttpInspector",
           "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
           "envoy.extensions.access_loggers.file.v3.FileAccessLog",
           "envoy.config.bootstrap.v3.Bootstrap",
           "envoy.admin.v3.ConfigDump",
           "envoy.service.discovery.v3.DeltaDiscoveryRequest",
       }) {
    const auto* descriptor = DescriptorPool::generated_pool()->FindMessageTypeByName(name);
    ASSERT_NE(descriptor, nullptr) << name;
    EXPECT_NE(MessageFactory::generated_factory()->GetPrototype(descriptor), nullptr) << name;
  }
}

TEST(EnvoyProtosTest, ListenerWithTypedConfigParsesFromJson) {
  const std::string json = R"({
    "name": "ingress",
    "address": {"socket_address": {"address": "127.0.0.1", "port_value": 10000}},
    "filter_chains": [{"filters": [{
      "name": "envoy.filters.network.tcp_proxy",
      "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
        "stat_prefix": "backend", "cluster": "backend", "idle_timeout": "30s"}
    }]}]
  })";
  envoy::config::listener::v3::Listener listener;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &listener);
  ASSERT_TRUE(status.ok()) << status.ToString();
  const auto& any = listener.filter_chains(0).filters(0).typed_config();
  EXPECT_EQ(any.type_url(),
            "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy");
  // Decode the payload by type URL alone, as the proxy does for extensions.
  const auto* descriptor = DescriptorPool::generated_pool()->FindMessageTypeByName(
      any.type_url().substr(any.type_url().find('/') + 1));
  ASSERT_NE(descriptor, nullptr);
  std::unique_ptr<google::protobuf::Message> message(
      MessageFactory::generated_factory()->GetPrototype(descriptor)->New());
  ASSERT_TRUE(any.UnpackTo(message.get()));
  EXPECT_NE(message->DebugString().find("cluster: \"backend\""), std::string::npos);
}

TEST(EnvoyProtosTest, JwtRequiresKeepsItsJsonName) {
  const std::string json = R"({
    "providers": {"p": {"issuer": "https://issuer.example"}},
    "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "p"}}]
  })";
  envoy::extensions::filters::http::jwt_authn::v3::JwtAuthentication config;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &config);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(config.rules(0).requires_field().provider_name(), "p");
}

} // namespace
} // namespace meshd::xds
