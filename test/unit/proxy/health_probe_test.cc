// Tests for the network health probes against scripted servers on loopback (port 0): what the
// HTTP check sends and how it reads statuses (expected, retriable, interim 1xx, not HTTP, no
// answer), TCP payload matching, refused connections and cancellation.
#include "proxy/upstream/health_probe.h"

#include <optional>

#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/write.hpp"
#include "gtest/gtest.h"

namespace meshd::proxy::upstream {
namespace {

using namespace std::chrono_literals;
using Result = HealthProbe::Result;
using boost::asio::ip::tcp;

// Accepts one connection, reads what arrives first, answers `answer`, then closes (or not).
class ScriptedServer {
public:
  ScriptedServer(boost::asio::io_context& io, std::string answer, bool close_after)
      : io_(io), acceptor_(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)),
        socket_(io), answer_(std::move(answer)), closeAfter_(close_after) {
    acceptor_.async_accept(socket_, [this](const boost::system::error_code& error) {
      if (error) {
        return;
      }
      socket_.async_read_some(boost::asio::buffer(chunk_),
                              [this](const boost::system::error_code& read_error, size_t n) {
                                if (read_error) {
                                  return;
                                }
                                received_.assign(chunk_.data(), n);
                                boost::asio::async_write(
                                    socket_, boost::asio::buffer(answer_),
                                    [this](const boost::system::error_code&, size_t) {
                                      if (closeAfter_) {
                                        socket_.close();
                                      }
                                    });
                              });
    });
  }
  // Runs the handlers still queued (cancelled by the close) while this object still exists.
  ~ScriptedServer() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    socket_.close(ignored);
    io_.restart();
    io_.poll();
  }
  config::Endpoint endpoint() const { return acceptor_.local_endpoint(); }
  const std::string& received() const { return received_; }

private:
  boost::asio::io_context& io_;
  tcp::acceptor acceptor_;
  tcp::socket socket_;
  std::string answer_;
  bool closeAfter_;
  std::array<char, 4096> chunk_{};
  std::string received_;
};

class HealthProbeTest : public ::testing::Test {
protected:
  static config::HealthCheckConfig http() {
    config::HealthCheckConfig config;
    config.http = config::HealthCheckConfig::Http{.path = "/healthz"};
    config.http->requestHeadersToAdd = {{"x-a", "b"}};
    config.http->retriableStatuses = {{500, 503}};
    return config;
  }
  static config::HealthCheckConfig tcpCheck(std::string send, std::vector<std::string> receive) {
    config::HealthCheckConfig config;
    config.tcp = config::HealthCheckConfig::Tcp{std::move(send), std::move(receive)};
    return config;
  }
  // Runs one probe to its end (bounded).
  std::optional<Result> probe(const config::HealthCheckConfig& config,
                              const config::Endpoint& host) {
    std::optional<Result> result;
    auto started = networkHealthProbes(io_, "backend", config)(host, [&](Result r) { result = r; });
    for (int i = 0; i < 500 && !result; ++i) {
      io_.restart();
      io_.run_for(10ms);
    }
    return result;
  }
  std::optional<Result> httpAnswer(const std::string& answer) {
    ScriptedServer server(io_, answer, true);
    return probe(http(), server.endpoint());
  }

  boost::asio::io_context io_;
};

TEST_F(HealthProbeTest, HttpCheckSendsItsRequestAndJudgesTheStatus) {
  ScriptedServer server(io_, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", false);
  EXPECT_EQ(probe(http(), server.endpoint()), Result::kHealthy);
  EXPECT_EQ(server.received(), "GET /healthz HTTP/1.1\r\nhost: backend\r\nuser-agent: "
                               "Envoy/HC\r\nx-a: b\r\nconnection: close\r\n\r\n");
  EXPECT_EQ(httpAnswer("HTTP/1.1 204\r\n\r\n"), Result::kHealthy) << "no reason phrase";
  EXPECT_EQ(httpAnswer("HTTP/1.1 503 Unavailable\r\n\r\n"), Result::kUnhealthy);
  EXPECT_EQ(httpAnswer("HTTP/1.1 500 Oops\r\n\r\n"), Result::kRetriableFailure);
  EXPECT_EQ(httpAnswer("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"), Result::kHealthy)
      << "interim responses are skipped";
  EXPECT_EQ(httpAnswer("HTTP/1.1 2000 OK\r\n\r\n"), Result::kNetworkFailure);
  EXPECT_EQ(httpAnswer("this is not HTTP\r\n\r\n"), Result::kNetworkFailure);
  EXPECT_EQ(httpAnswer(""), Result::kNetworkFailure) << "closed without an answer";
  EXPECT_EQ(httpAnswer("HTTP/1.1 20"), Result::kNetworkFailure) << "closed mid status line";
}

TEST_F(HealthProbeTest, RefusedConnectionIsANetworkFailure) {
  config::Endpoint closed;
  {
    tcp::acceptor acceptor(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    closed = acceptor.local_endpoint();
  }
  EXPECT_EQ(probe(http(), closed), Result::kNetworkFailure);
  EXPECT_EQ(probe(tcpCheck("", {}), closed), Result::kNetworkFailure);
}

TEST_F(HealthProbeTest, TcpCheckMatchesBlocksInOrder) {
  {
    ScriptedServer server(io_, "", false); // connect only: no payloads
    EXPECT_EQ(probe(tcpCheck("", {}), server.endpoint()), Result::kHealthy);
  }
  {
    ScriptedServer server(io_, "xxPOyyNGzz", false);
    EXPECT_EQ(probe(tcpCheck("PING", {"PO", "NG"}), server.endpoint()), Result::kHealthy);
    EXPECT_EQ(server.received(), "PING");
  }
  {
    ScriptedServer server(io_, "NGPO", true); // out of order, then closed
    EXPECT_EQ(probe(tcpCheck("PING", {"PO", "NG"}), server.endpoint()), Result::kNetworkFailure);
  }
}

TEST_F(HealthProbeTest, CancelledProbeNeverReports) {
  ScriptedServer server(io_, "HTTP/1.1 200 OK\r\n\r\n", true);
  bool reported = false;
  auto started = networkHealthProbes(io_, "backend", http())(server.endpoint(),
                                                             [&](Result) { reported = true; });
  started->cancel();
  io_.restart();
  io_.run_for(200ms);
  EXPECT_FALSE(reported);
}

} // namespace
} // namespace meshd::proxy::upstream
