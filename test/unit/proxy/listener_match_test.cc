// Unit tests for filter chain selection and the TLS / HTTP inspectors (with a real ClientHello
// produced by OpenSSL).
#include <openssl/ssl.h>

#include "proxy/network/filter_chain_matcher.h"
#include "proxy/network/listener_filters.h"
#include "gtest/gtest.h"

namespace meshd::proxy::network {
namespace {

config::CidrRange cidr(const char* address, uint32_t length) {
  return {boost::asio::ip::make_address(address), length};
}

ConnectionInfo connection(const char* local, uint16_t local_port, const char* remote = "10.0.0.9",
                          uint16_t remote_port = 40000) {
  ConnectionInfo info;
  info.localAddress = {boost::asio::ip::make_address(local), local_port};
  info.remoteAddress = {boost::asio::ip::make_address(remote), remote_port};
  return info;
}

std::string selected(const config::ListenerConfig& listener, const ConnectionInfo& info) {
  const auto* chain = selectFilterChain(listener, info);
  return chain == nullptr ? "<none>" : chain->name;
}

config::FilterChainConfig chain(std::string name, config::FilterChainMatch match) {
  config::FilterChainConfig out;
  out.name = std::move(name);
  out.match = std::move(match);
  return out;
}

TEST(FilterChainMatchTest, CriteriaInEnvoyOrder) {
  config::ListenerConfig listener;
  listener.filterChains.push_back(chain("port-9080", {.destinationPort = 9080}));
  listener.filterChains.push_back(
      chain("port-9080-subnet", {.destinationPort = 9080, .prefixRanges = {cidr("10.1.0.0", 16)}}));
  listener.filterChains.push_back(
      chain("tls-exact", {.serverNames = {"api.example.com"}, .transportProtocol = "tls"}));
  listener.filterChains.push_back(
      chain("tls-wildcard", {.serverNames = {"*.example.com"}, .transportProtocol = "tls"}));
  listener.filterChains.push_back(chain("http", {.applicationProtocols = {"http/1.1", "h2c"}}));
  listener.filterChains.push_back(
      chain("from-mesh", {.sourcePrefixRanges = {cidr("10.44.0.0", 16)}}));
  listener.filterChains.push_back(chain("catch-all", {}));

  EXPECT_EQ(selected(listener, connection("10.1.2.3", 9080)), "port-9080-subnet");
  EXPECT_EQ(selected(listener, connection("10.2.2.3", 9080)), "port-9080");
  ConnectionInfo tls = connection("10.2.2.3", 443);
  tls.transportProtocol = "tls";
  tls.serverName = "api.example.com";
  EXPECT_EQ(selected(listener, tls), "tls-exact");
  tls.serverName = "www.example.com";
  EXPECT_EQ(selected(listener, tls), "tls-wildcard");
  tls.serverName = "example.org"; // no name matches: chains without server names remain
  EXPECT_EQ(selected(listener, tls), "catch-all");
  ConnectionInfo http = connection("10.2.2.3", 80);
  http.applicationProtocols = {"http/1.1"};
  EXPECT_EQ(selected(listener, http), "http");
  EXPECT_EQ(selected(listener, connection("10.2.2.3", 80, "10.44.1.1")), "from-mesh");
  EXPECT_EQ(selected(listener, connection("10.2.2.3", 80)), "catch-all");
}

TEST(FilterChainMatchTest, DefaultChainAndNoMatch) {
  config::ListenerConfig listener;
  listener.filterChains.push_back(chain("only-9080", {.destinationPort = 9080}));
  EXPECT_EQ(selected(listener, connection("10.0.0.1", 80)), "<none>");
  listener.defaultFilterChain = chain("default", {});
  EXPECT_EQ(selected(listener, connection("10.0.0.1", 80)), "default");
  EXPECT_EQ(selected(listener, connection("10.0.0.1", 9080)), "only-9080");
}

TEST(FilterChainMatchTest, LongestPrefixWins) {
  config::ListenerConfig listener;
  listener.filterChains.push_back(chain("wide", {.prefixRanges = {cidr("10.0.0.0", 8)}}));
  listener.filterChains.push_back(chain("narrow", {.prefixRanges = {cidr("10.9.9.0", 24)}}));
  EXPECT_EQ(selected(listener, connection("10.9.9.9", 1)), "narrow");
  EXPECT_EQ(selected(listener, connection("10.9.8.9", 1)), "wide");
  EXPECT_EQ(selected(listener, connection("192.168.0.1", 1)), "<none>");
}

// The first flight of a real TLS client with SNI and ALPN.
std::string clientHello(const char* sni, const std::vector<std::string>& alpn) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast" // inside OpenSSL's macro
  SSL_set_tlsext_host_name(ssl, sni);
#pragma GCC diagnostic pop
  std::string wire;
  for (const auto& protocol : alpn) {
    wire += static_cast<char>(protocol.size());
    wire += protocol;
  }
  SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()),
                      static_cast<unsigned>(wire.size()));
  SSL_set_connect_state(ssl);
  SSL_do_handshake(ssl); // writes the ClientHello, then wants to read
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

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(InspectorTest, TlsClientHelloGivesSniAndAlpn) {
  const std::string hello = clientHello("Reviews.Default.svc.cluster.local", {"h2", "http/1.1"});
  ASSERT_GT(hello.size(), 50u);
  ConnectionInfo info;
  EXPECT_EQ(inspectTls(bytes(hello), info), InspectResult::kDone);
  EXPECT_EQ(info.transportProtocol, "tls");
  EXPECT_EQ(info.serverName, "reviews.default.svc.cluster.local");
  EXPECT_EQ(info.applicationProtocols, (std::vector<std::string>{"h2", "http/1.1"}));

  ConnectionInfo partial;
  EXPECT_EQ(inspectTls(bytes(hello.substr(0, 20)), partial), InspectResult::kNeedMore);
  ConnectionInfo plain;
  EXPECT_EQ(inspectTls(bytes("GET / HTTP/1.1\r\n"), plain), InspectResult::kDone);
  EXPECT_EQ(plain.transportProtocol, "raw_buffer");
}

TEST(InspectorTest, TlsInspectorSurvivesGarbage) {
  std::string garbage = "\x16\x03\x01\x00\x30";
  garbage += std::string(0x30, '\xff'); // claims a ClientHello, lengths point past the end
  ConnectionInfo info;
  EXPECT_EQ(inspectTls(bytes(garbage), info), InspectResult::kDone);
  EXPECT_TRUE(info.serverName.empty());
}

TEST(InspectorTest, HttpSniffing) {
  ConnectionInfo http11;
  EXPECT_EQ(inspectHttp(bytes("GET /x HTTP/1.1\r\nhost: a\r\n"), http11), InspectResult::kDone);
  EXPECT_EQ(http11.applicationProtocols, (std::vector<std::string>{"http/1.1"}));
  ConnectionInfo h2c;
  EXPECT_EQ(inspectHttp(bytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), h2c), InspectResult::kDone);
  EXPECT_EQ(h2c.applicationProtocols, (std::vector<std::string>{"h2c"}));
  ConnectionInfo waiting;
  EXPECT_EQ(inspectHttp(bytes("GET /long-path"), waiting), InspectResult::kNeedMore);
  ConnectionInfo binary;
  EXPECT_EQ(inspectHttp(bytes(std::string("\x00\x01\x02", 3)), binary), InspectResult::kDone);
  EXPECT_TRUE(binary.applicationProtocols.empty());
}

} // namespace
} // namespace meshd::proxy::network
