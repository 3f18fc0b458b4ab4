// Listeners with several filter chains chosen by what the listener filters see (tls_inspector,
// http_inspector), the default chain, and ORIGINAL_DST clusters through x-envoy-original-dst-host.
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "fmt/format.h"
#include "test/support/http_client.h"
#include "test/support/mesh_proxy.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

std::string tcpChain(const std::string& match, const std::string& cluster) {
  return fmt::format(R"(
    - filter_chain_match: {}
      filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config: {{ "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: {}, cluster: {} }})",
                     match, cluster, cluster);
}

std::string staticCluster(const std::string& name, uint16_t port) {
  return fmt::format(R"(
  - name: {}
    connect_timeout: 1s
    load_assignment:
      cluster_name: {}
      endpoints: [{{ lb_endpoints: [{{ endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {} }} }} }} }}] }}])",
                     name, name, port);
}

std::string clientHello(const char* sni) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, BIO_new(BIO_s_mem()), out);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast" // inside OpenSSL's macro
  SSL_set_tlsext_host_name(ssl, sni);
#pragma GCC diagnostic pop
  SSL_set_connect_state(ssl);
  SSL_do_handshake(ssl);
  std::string hello;
  char buffer[4096];
  int n;
  while ((n = BIO_read(out, buffer, sizeof(buffer))) > 0) {
    hello.append(buffer, static_cast<size_t>(n));
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return hello;
}

// Sends `data`, half-closes, and returns the first bytes back (the echo server's greeting).
std::string firstReplyByte(uint16_t port, const std::string& data) {
  const int fd = connectLoopback(port);
  if (fd < 0) {
    return "<connect failed>";
  }
  sendAll(fd, data);
  ::shutdown(fd, SHUT_WR);
  const std::string reply = readUntilClose(fd);
  ::close(fd);
  return reply.substr(0, 1);
}

TEST(ListenerTest, FilterChainsChosenBySniAndSniffedProtocol) {
  EchoServer tlsApi("A");
  EchoServer tlsOther("B");
  EchoServer plain("C");
  const std::string yaml = fmt::format(
      R"(
admin: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }} }}
static_resources:
  listeners:
  - name: front
    address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
    listener_filters:
    - {{ name: envoy.filters.listener.tls_inspector, typed_config: {{ "@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector }} }}
    - {{ name: envoy.filters.listener.http_inspector, typed_config: {{ "@type": type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector }} }}
    listener_filters_timeout: 0.5s
    continue_on_listener_filters_timeout: true
    filter_chains:{}{}
    - filter_chain_match: {{ application_protocols: [http/1.1] }}
      filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: sniffed
          route_config:
            virtual_hosts:
            - {{ name: all, domains: ["*"], routes: [{{ match: {{ prefix: / }}, direct_response: {{ status: 200, body: {{ inline_string: http-chain }} }} }}] }}
          http_filters: [{{ name: envoy.filters.http.router, typed_config: {{ "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }} }}]
    default_filter_chain:
      filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config: {{ "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: plain, cluster: plain }}
  clusters:{}{}{}
)",
      tcpChain("{ transport_protocol: tls, server_names: [api.example.com] }", "api"),
      tcpChain("{ transport_protocol: tls }", "other"), staticCluster("api", tlsApi.port()),
      staticCluster("other", tlsOther.port()), staticCluster("plain", plain.port()));
  MeshProxy proxy(yaml);
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const uint16_t port = proxy.listenerPort("front");
  EXPECT_EQ(firstReplyByte(port, clientHello("api.example.com")), "A");
  EXPECT_EQ(firstReplyByte(port, clientHello("www.example.com")), "B");
  EXPECT_EQ(firstReplyByte(port, "\x01\x02 binary protocol\r\n"), "C"); // default chain
  const auto http = httpGet(port, "/anything");
  EXPECT_EQ(http.status, 200);
  EXPECT_EQ(http.body, "http-chain");
  // A client that sends nothing: after the inspection timeout it still gets the default chain.
  const int silent = connectLoopback(port);
  ASSERT_GE(silent, 0);
  char greeting = 0;
  EXPECT_EQ(::recv(silent, &greeting, 1, 0), 1);
  EXPECT_EQ(greeting, 'C');
  ::close(silent);
}

TEST(ListenerTest, NoMatchingChainClosesTheConnection) {
  EchoServer backend("X");
  const std::string yaml =
      fmt::format(R"(
admin: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }} }}
static_resources:
  listeners:
  - name: front
    address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
    filter_chains:{}
  clusters:{}
)",
                  tcpChain("{ destination_port: 1 }", "x"), staticCluster("x", backend.port()));
  MeshProxy proxy(yaml);
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  EXPECT_EQ(firstReplyByte(proxy.listenerPort("front"), "hi"), "");
  EXPECT_TRUE(waitFor(
      [&] {
        return httpGet(proxy.adminPort(), "/stats").body.find("no_filter_chain_match: 1") !=
               std::string::npos;
      },
      10s));
  EXPECT_EQ(backend.connections(), 0);
}

TEST(ListenerTest, OriginalDstClusterFollowsTheHeader) {
  const std::string yaml = R"(
admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }
static_resources:
  listeners:
  - name: front
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: passthrough
          route_config:
            virtual_hosts:
            - { name: all, domains: ["*"], routes: [{ match: { prefix: / }, route: { cluster: passthrough } }] }
          http_filters: [{ name: envoy.filters.http.router, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router } }]
  clusters:
  - name: passthrough
    type: ORIGINAL_DST
    lb_policy: CLUSTER_PROVIDED
    connect_timeout: 1s
    original_dst_lb_config: { use_http_header: true }
)";
  MeshProxy proxy(yaml);
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const uint16_t port = proxy.listenerPort("front");
  // The admin listener is a handy HTTP server to be sent to.
  const int fd = connectLoopback(port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(
      sendAll(fd, fmt::format("GET /ready HTTP/1.1\r\nhost: x\r\nx-envoy-original-dst-host: "
                              "127.0.0.1:{}\r\nconnection: close\r\n\r\n",
                              proxy.adminPort())));
  const std::string response = readUntilClose(fd);
  ::close(fd);
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK", 0), 0u) << response;
  EXPECT_NE(response.find("LIVE"), std::string::npos) << response;
  // A header that is not ip:port leaves nowhere to go: "no healthy upstream".
  const int bad = connectLoopback(port);
  ASSERT_TRUE(sendAll(bad, "GET / HTTP/1.1\r\nhost: x\r\nx-envoy-original-dst-host: nonsense\r\n"
                           "connection: close\r\n\r\n"));
  const std::string badResponse = readUntilClose(bad);
  ::close(bad);
  EXPECT_EQ(badResponse.rfind("HTTP/1.1 503", 0), 0u) << badResponse;
}

} // namespace
} // namespace meshd::testing
