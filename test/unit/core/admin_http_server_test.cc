// Unit tests for the admin HTTP server: routing, query strings, keep-alive and pipelining, bad
// requests. The server runs on its own loop thread; the client is the blocking test client.
#include "core/http/admin_http_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "test/support/http_client.h"
#include "test/support/process.h"
#include "gtest/gtest.h"

namespace meshd::core {
namespace {

using namespace std::chrono_literals;

class AdminHttpServerTest : public ::testing::Test {
protected:
  void SetUp() override {
    server_.route("/echo", "echoes the request", [](const AdminRequest& request) {
      std::string body = request.method + " " + request.path + "\n";
      for (const auto& [key, value] : request.query) {
        body += key + "=" + value + "\n";
      }
      body += request.body;
      return AdminResponse{200, "text/plain", body};
    });
    auto bound = server_.listen("127.0.0.1", 0);
    ASSERT_TRUE(bound.ok()) << bound.status();
    port_ = bound->port();
    thread_ = std::thread([this] { loop_.run(); });
  }
  void TearDown() override {
    loop_.post([this] { server_.close(); });
    loop_.stop();
    thread_.join();
  }

  EventLoop loop_{"admin"};
  AdminHttpServer server_{loop_};
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(AdminHttpServerTest, RoutesByPathWithDecodedQuery) {
  const auto result = testing::httpGet(port_, "/echo?level=debug&name=a%20b+c&flag");
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.body, "GET /echo\nflag=\nlevel=debug\nname=a b c\n");
  EXPECT_NE(result.headers.find("content-type: text/plain"), std::string::npos);
}

TEST_F(AdminHttpServerTest, PostBodyArrives) {
  const auto result = testing::httpRequest(port_, "POST", "/echo", "payload");
  EXPECT_EQ(result.body, "POST /echo\npayload");
}

TEST_F(AdminHttpServerTest, UnknownPathIs404AndIndexListsRoutes) {
  EXPECT_EQ(testing::httpGet(port_, "/missing").status, 404);
  const auto index = testing::httpGet(port_, "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_NE(index.body.find("/echo: echoes the request"), std::string::npos);
}

TEST_F(AdminHttpServerTest, KeepAliveAndPipelinedRequestsAnswerInOrder) {
  const int fd = testing::connectLoopback(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(testing::sendAll(fd,
                               "GET /echo?n=1 HTTP/1.1\r\nhost: x\r\n\r\n"
                               "GET /echo?n=2 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"));
  const std::string responses = testing::readUntilClose(fd);
  ::close(fd);
  const size_t first = responses.find("n=1");
  const size_t second = responses.find("n=2");
  ASSERT_NE(first, std::string::npos) << responses;
  ASSERT_NE(second, std::string::npos) << responses;
  EXPECT_LT(first, second);
  EXPECT_NE(responses.find("connection: close"), std::string::npos);
}

TEST_F(AdminHttpServerTest, MalformedRequestGets400AndClose) {
  const int fd = testing::connectLoopback(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(testing::sendAll(fd, "GET /echo HTTP/1.1\r\nbad header line\r\n\r\n"));
  const std::string response = testing::readUntilClose(fd);
  ::close(fd);
  EXPECT_EQ(response.rfind("HTTP/1.1 400 Bad Request", 0), 0u) << response;
}

TEST_F(AdminHttpServerTest, OversizedRequestIsRefused) {
  const int fd = testing::connectLoopback(port_);
  ASSERT_GE(fd, 0);
  const std::string big(2 << 20, 'x');
  testing::sendAll(fd, "POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: " +
                           std::to_string(big.size()) + "\r\n\r\n" + big);
  const std::string response = testing::readUntilClose(fd);
  ::close(fd);
  EXPECT_EQ(response.rfind("HTTP/1.1 413 Payload Too Large", 0), 0u) << response.substr(0, 200);
}

TEST_F(AdminHttpServerTest, PrefixRoutesTakeTheLongestMatchAfterExactPaths) {
  loop_.post([this] {
    auto reply = [](std::string name) {
      return [name](const AdminRequest& request) {
        return AdminResponse{200, "text/plain", name + " " + request.method + " " + request.path};
      };
    };
    server_.routePrefix("/apis/", "api", reply("apis"));
    server_.routePrefix("/apis/v1/", "v1", reply("v1"));
    server_.routePrefix("/apis/v1/namespaces/", "ns", reply("ns"));
  });
  ASSERT_TRUE(testing::waitFor(
      [&] { return testing::httpGet(port_, "/apis/x").body == "apis GET /apis/x"; }, 10s));
  EXPECT_EQ(testing::httpRequest(port_, "PUT", "/apis/v1/gateways/a", "{}").body,
            "v1 PUT /apis/v1/gateways/a");
  EXPECT_EQ(testing::httpRequest(port_, "DELETE", "/apis/v1/namespaces/a").body,
            "ns DELETE /apis/v1/namespaces/a");
  EXPECT_EQ(testing::httpGet(port_, "/apis/v1x").body, "apis GET /apis/v1x");
  EXPECT_EQ(testing::httpGet(port_, "/api").status, 404);
  EXPECT_EQ(testing::httpGet(port_, "/echo").status, 200) << "exact routes still win";
}

TEST(AdminHttpServerLimitTest, TheRequestLimitIsConfigurable) {
  EventLoop loop("admin");
  AdminHttpServer server(loop, /*maxRequestBytes=*/64);
  server.route("/echo", "", [](const AdminRequest& request) {
    return AdminResponse{200, "text/plain", request.body};
  });
  auto bound = server.listen("127.0.0.1", 0);
  ASSERT_TRUE(bound.ok());
  std::thread thread([&] { loop.run(); });
  EXPECT_EQ(testing::httpRequest(bound->port(), "POST", "/echo", std::string(20, 'x')).status, 200);
  EXPECT_EQ(testing::httpRequest(bound->port(), "POST", "/echo", std::string(100, 'x')).status,
            413);
  loop.post([&] { server.close(); });
  loop.stop();
  thread.join();
}

// Reads from `fd` until `count` complete header blocks ("\r\n\r\n") arrived (or the receive
// timeout of connectLoopback passes).
std::string readHeaderBlocks(int fd, int count) {
  std::string in;
  char buffer[4096];
  size_t from = 0;
  while (count > 0) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) {
      break;
    }
    in.append(buffer, static_cast<size_t>(n));
    for (size_t at; count > 0 && (at = in.find("\r\n\r\n", from)) != std::string::npos;) {
      from = at + 4;
      --count;
    }
  }
  return in;
}

TEST_F(AdminHttpServerTest, ExpectContinueIsAnsweredBeforeTheBody) {
  const int fd = testing::connectLoopback(port_);
  ASSERT_GE(fd, 0);
  testing::sendAll(fd, "POST /echo HTTP/1.1\r\nhost: x\r\nExpect: 100-Continue\r\n"
                       "content-length: 5\r\n\r\n");
  EXPECT_EQ(readHeaderBlocks(fd, 1), "HTTP/1.1 100 Continue\r\n\r\n");
  testing::sendAll(fd, "hello");
  const std::string response = readHeaderBlocks(fd, 1);
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK", 0), 0u) << response;
  ::close(fd);
}

TEST_F(AdminHttpServerTest, AnAnnouncedOversizedBodyIsRefusedBeforeItIsSent) {
  const int fd = testing::connectLoopback(port_);
  ASSERT_GE(fd, 0);
  testing::sendAll(fd, "POST /echo HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\n"
                       "content-length: 104857600\r\n\r\n");
  const std::string response = testing::readUntilClose(fd);
  ::close(fd);
  EXPECT_EQ(response.rfind("HTTP/1.1 413 Payload Too Large", 0), 0u) << response;
}

TEST(AdminHttpServerListenTest, BadAddressAndBusyPortAreErrors) {
  EventLoop loop("admin");
  AdminHttpServer first(loop);
  EXPECT_FALSE(first.listen("not-an-ip", 0).ok());
  auto bound = first.listen("127.0.0.1", 0);
  ASSERT_TRUE(bound.ok());
  AdminHttpServer second(loop);
  const auto busy = second.listen("127.0.0.1", bound->port());
  EXPECT_FALSE(busy.ok());
}

TEST(QueryStringTest, Parses) {
  const auto query = parseQueryString("a=1&b=&c&d=x%2Fy&&e=%zz");
  EXPECT_EQ(query.at("a"), "1");
  EXPECT_EQ(query.at("b"), "");
  EXPECT_EQ(query.at("c"), "");
  EXPECT_EQ(query.at("d"), "x/y");
  EXPECT_EQ(query.at("e"), "%zz");
  EXPECT_EQ(query.size(), 5u);
}

} // namespace
} // namespace meshd::core
