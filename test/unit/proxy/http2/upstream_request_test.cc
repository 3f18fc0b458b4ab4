// UpstreamRequest over an HTTP/2 upstream, hermetic: the router's request against an in-process
// h2c server (our ServerSession on a loopback socket, port 0) on the same event loop. Checks what
// the integration tests cannot see from an HTTP/1.1 client: response trailers reach the router's
// callbacks, request trailers reach the server, and several requests share one connection.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "boost/asio/ip/tcp.hpp"
#include "core/event_loop.h"
#include "core/random.h"
#include "core/stats/store.h"
#include "proxy/http/http2/server_session.h"
#include "proxy/network/stream_socket.h"
#include "proxy/router/upstream_request.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/http_pool.h"
#include "proxy/upstream/load_balancer.h"
#include "gtest/gtest.h"

namespace meshd::proxy {
namespace {

using namespace std::chrono_literals;
using boost::asio::ip::tcp;

// One accepted connection of the test server: answers every request once it ended, with its
// path as body and, when the request had trailers, their count in x-request-trailers; responses
// to /grpc end with trailers grpc-status: 0.
class ServerConnection : public network::StreamSocket::Handler,
                         public http::http2::ServerSession::Callbacks {
public:
  struct Stream : http::http2::StreamHandler {
    ServerConnection* owner = nullptr;
    int32_t id = 0;
    http::HeaderMap head;
    std::string body;
    std::optional<http::HeaderMap> trailers;
    void onHead(http::HeaderMap&& headers, bool end_stream) override {
      head = std::move(headers);
      if (end_stream) {
        owner->answer(*this);
      }
    }
    void onData(std::string_view data, bool end_stream) override {
      body.append(data);
      owner->session.consume(id, data.size());
      if (end_stream) {
        owner->answer(*this);
      }
    }
    void onTrailers(http::HeaderMap&& received) override {
      trailers = std::move(received);
      owner->answer(*this);
    }
    void onClose(const http::http2::StreamClose&) override {}
  };

  explicit ServerConnection(tcp::socket accepted)
      : socket(std::make_shared<network::StreamSocket>(std::move(accepted), this)), session(*this) {
    this->socket->start();
    session.start();
  }
  ~ServerConnection() override { socket->close(); }

  void onReadable(core::Buffer& input, bool) override { session.receive(input); }
  void onSocketError() override { session.closeAllStreams(); }
  void onOutput(core::Buffer& data) override { socket->write(data); }
  void onSessionDone() override { socket->closeAfterFlush(); }
  http::http2::StreamHandler* onNewStream(int32_t stream_id) override {
    auto& stream = streams[stream_id];
    stream = std::make_unique<Stream>();
    stream->owner = this;
    stream->id = stream_id;
    return stream.get();
  }

  void answer(Stream& stream) {
    http::HeaderMap response;
    response.add(":status", "200");
    if (stream.trailers) {
      response.add("x-request-trailers", std::to_string(stream.trailers->size()));
    }
    ASSERT_TRUE(session.respond(stream.id, response, false).ok());
    session.sendData(stream.id, std::string(stream.head.path()), false);
    if (stream.head.path() == "/grpc") {
      http::HeaderMap trailers;
      trailers.add("grpc-status", "0");
      session.sendTrailers(stream.id, trailers);
    } else {
      session.sendData(stream.id, std::string_view(), true);
    }
  }

  std::shared_ptr<network::StreamSocket> socket;
  http::http2::ServerSession session;
  std::map<int32_t, std::unique_ptr<Stream>> streams;
};

class Recorder : public router::UpstreamRequest::Callbacks {
public:
  void onUpstreamHead(http::HeaderMap&& headers, bool) override { head = std::move(headers); }
  void onUpstreamBody(std::string_view data) override { body.append(data); }
  void onUpstreamTrailers(http::HeaderMap&& received) override {
    EXPECT_FALSE(complete) << "trailers come before the completion";
    trailers = std::move(received);
  }
  void onUpstreamComplete() override { complete = true; }
  void onUpstreamFailure(int status, uint32_t, std::string_view) override { failure = status; }
  void onUpstreamRequestDrained() override {}
  void addResponseFlag(uint32_t) override {}

  std::optional<http::HeaderMap> head;
  std::string body;
  std::optional<http::HeaderMap> trailers;
  bool complete = false;
  int failure = 0;
};

class Http2UpstreamRequestTest : public ::testing::Test {
protected:
  Http2UpstreamRequestTest() : acceptor_(loop_.context(), tcp::endpoint(tcp::v4(), 0)) {
    endpoint_ = tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"),
                              acceptor_.local_endpoint().port());
    accept();
    config::ClusterConfig config;
    config.name = "h2";
    config.upstreamProtocol = config::UpstreamProtocol::kHttp2;
    config::HostConfig host;
    host.address = endpoint_;
    config.hosts.push_back(host);
    cluster_ = std::make_shared<upstream::Cluster>(config, store_);
  }
  ~Http2UpstreamRequestTest() override {
    requests_.clear();
    pool_.closeAll();
    connections_.clear();
  }

  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
      if (!error) {
        connections_.push_back(std::make_unique<ServerConnection>(std::move(socket)));
        accept();
      }
    });
  }

  router::UpstreamRequest& request(const std::string& path, bool end_stream, Recorder& recorder) {
    http::HeaderMap headers;
    headers.add(":method", "POST");
    headers.add(":path", path);
    headers.add(":authority", "h2.test");
    const upstream::PickedHost host{0, endpoint_};
    requests_.push_back(std::make_unique<router::UpstreamRequest>(
        loop_, pool_, balancers_, random_, cluster_, host,
        [host](uint32_t) { return std::optional<upstream::PickedHost>(host); }, headers, end_stream,
        router::UpstreamRequest::Options{}, recorder));
    requests_.back()->start();
    return *requests_.back();
  }

  bool pumpUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      loop_.context().run_for(10ms);
      loop_.context().restart();
    }
    return done();
  }

  // Before the loop: handlers still queued when the loop is destroyed end connections that count
  // in these stats.
  stats::Store store_;
  core::EventLoop loop_{"test"};
  tcp::acceptor acceptor_;
  tcp::endpoint endpoint_;
  std::shared_ptr<upstream::Cluster> cluster_;
  core::DefaultRandomGenerator random_;
  upstream::WorkerLoadBalancers balancers_{random_};
  upstream::HttpPool pool_{loop_};
  std::vector<std::unique_ptr<ServerConnection>> connections_;
  std::vector<std::unique_ptr<router::UpstreamRequest>> requests_;
};

TEST_F(Http2UpstreamRequestTest, ResponseTrailersReachTheRouterBeforeCompletion) {
  Recorder recorder;
  request("/grpc", true, recorder);
  ASSERT_TRUE(pumpUntil([&] { return recorder.complete || recorder.failure != 0; }));
  ASSERT_TRUE(recorder.head);
  EXPECT_EQ(recorder.head->status(), 200);
  EXPECT_EQ(recorder.body, "/grpc");
  ASSERT_TRUE(recorder.trailers);
  EXPECT_EQ(recorder.trailers->get("grpc-status"), "0");
  EXPECT_EQ(cluster_->stats().cxHttp2Total.value(), 1u);
}

TEST_F(Http2UpstreamRequestTest, RequestTrailersReachTheServer) {
  Recorder recorder;
  router::UpstreamRequest& upstream = request("/with-trailers", false, recorder);
  upstream.sendBody("payload", false);
  http::HeaderMap trailers;
  trailers.add("x-checksum", "abc");
  upstream.sendTrailers(trailers);
  ASSERT_TRUE(pumpUntil([&] { return recorder.complete || recorder.failure != 0; }));
  ASSERT_TRUE(recorder.head);
  EXPECT_EQ(recorder.head->get("x-request-trailers"), "1");
  ASSERT_EQ(connections_.size(), 1u);
  const auto& stream = *connections_[0]->streams.begin()->second;
  EXPECT_EQ(stream.body, "payload");
  ASSERT_TRUE(stream.trailers);
  EXPECT_EQ(stream.trailers->get("x-checksum"), "abc");
  EXPECT_EQ(stream.head.get(":scheme"), "http");
  EXPECT_EQ(stream.head.authority(), "h2.test");
}

TEST_F(Http2UpstreamRequestTest, ConcurrentRequestsShareOneConnection) {
  std::vector<std::unique_ptr<Recorder>> recorders;
  for (int i = 0; i < 10; ++i) {
    recorders.push_back(std::make_unique<Recorder>());
    request("/r" + std::to_string(i), true, *recorders.back());
  }
  ASSERT_TRUE(pumpUntil([&] {
    for (const auto& recorder : recorders) {
      if (!recorder->complete && recorder->failure == 0) {
        return false;
      }
    }
    return true;
  }));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(recorders[static_cast<size_t>(i)]->body, "/r" + std::to_string(i));
  }
  EXPECT_EQ(connections_.size(), 1u);
  EXPECT_EQ(cluster_->stats().cxTotal.value(), 1u);
  EXPECT_EQ(pool_.http2ConnectionCount(), 1u);
}

} // namespace
} // namespace meshd::proxy
