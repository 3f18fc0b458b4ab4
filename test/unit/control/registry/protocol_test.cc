// Protocol selection for Kubernetes Service ports: appProtocol, then the port name's prefix, then
// the server-first ports, else sniffed.
#include "control/registry/protocol.h"

#include "gtest/gtest.h"

namespace meshd::control::registry {
namespace {

using config::Protocol;

struct Case {
  const char* name;
  const char* appProtocol;
  uint32_t port;
  const char* l4;
  Protocol expected;
};

TEST(KubePortProtocolTest, FollowsIstioRules) {
  const Case cases[] = {
      {"http", "", 9080, "TCP", Protocol::kHttp},
      {"http-web", "", 80, "TCP", Protocol::kHttp},
      {"HTTP-upper", "", 80, "TCP", Protocol::kHttp},
      {"http2", "", 80, "TCP", Protocol::kHttp2},
      {"https", "", 443, "TCP", Protocol::kHttps},
      {"https-admin", "", 8443, "TCP", Protocol::kHttps},
      {"grpc", "", 9090, "TCP", Protocol::kGrpc},
      {"grpc-api", "", 9090, "TCP", Protocol::kGrpc},
      {"grpc-web", "", 9090, "TCP", Protocol::kGrpcWeb},
      {"grpc-web-ui", "", 9090, "TCP", Protocol::kGrpcWeb},
      {"tcp", "", 9000, "TCP", Protocol::kTcp},
      {"tcp-other", "", 9001, "TCP", Protocol::kTcp},
      {"tls", "", 443, "TCP", Protocol::kTls},
      {"mongo", "", 27017, "TCP", Protocol::kMongo},
      {"mysql", "", 3306, "TCP", Protocol::kMySql},
      {"redis", "", 6379, "TCP", Protocol::kRedis},
      // No prefix Istio knows: sniffed, except the server-first ports.
      {"web", "", 8080, "TCP", Protocol::kUnspecified},
      {"", "", 8080, "TCP", Protocol::kUnspecified},
      {"httpx", "", 8080, "TCP", Protocol::kUnspecified},
      {"db", "", 3306, "TCP", Protocol::kTcp},
      {"", "", 27017, "TCP", Protocol::kTcp},
      {"", "", 53, "TCP", Protocol::kTcp},
      {"", "", 25, "TCP", Protocol::kTcp},
      // appProtocol wins over the name, even when it says less.
      {"http", "grpc", 80, "TCP", Protocol::kGrpc},
      {"tcp", "http", 80, "TCP", Protocol::kHttp},
      {"http", "custom", 80, "TCP", Protocol::kUnspecified},
      {"web", "kubernetes.io/h2c", 80, "TCP", Protocol::kHttp2},
      {"web", "kubernetes.io/ws", 80, "TCP", Protocol::kHttp},
      {"web", "kubernetes.io/wss", 443, "TCP", Protocol::kHttps},
      {"web", "grpc-web", 80, "TCP", Protocol::kGrpcWeb},
      // A UDP port is UDP whatever it is called.
      {"http", "", 53, "UDP", Protocol::kUdp},
      {"dns", "http", 53, "UDP", Protocol::kUdp},
  };
  for (const Case& c : cases) {
    config::KubeServicePort port;
    port.name = c.name;
    port.appProtocol = c.appProtocol;
    port.port = c.port;
    port.protocol = c.l4;
    EXPECT_EQ(kubePortProtocol(port), c.expected)
        << "name '" << c.name << "' appProtocol '" << c.appProtocol << "' port " << c.port << " "
        << c.l4;
  }
}

} // namespace
} // namespace meshd::control::registry
