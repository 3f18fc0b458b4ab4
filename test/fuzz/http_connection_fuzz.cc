// Fuzz target for the HTTP connection manager's downstream side, both codecs: arbitrary bytes
// reach a real HttpConnectionManager (codec_type AUTO: the HTTP/2 preface picks HTTP/2, anything
// else HTTP/1.1) through a socketpair, on a worker thread as in mesh-proxy, with routes that
// answer directly (a direct response, a redirect, no route), so every request runs the whole
// per-request path (ActiveStream) without an upstream. Checks that the connection always ends
// once the client half-closed, and that no request or connection stays counted as active.
//
// Input layout: byte 0 flags (bit 0: prepend the HTTP/2 preface and an empty SETTINGS frame, so
// the fuzzer spends its time on frames), then the bytes the client sends.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "core/event_loop.h"
#include "core/random.h"
#include "core/snapshot_slot.h"
#include "core/stats/store.h"
#include "core/worker_pool.h"
#include "proxy/config/bootstrap_loader.h"
#include "proxy/config/proxy_config.h"
#include "proxy/http/conn_manager.h"
#include "proxy/router/shadow_request.h"
#include "proxy/server/runtime.h"
#include "proxy/upstream/http_pool.h"
#include "proxy/upstream/load_balancer.h"

namespace {

using namespace meshd;
using namespace std::chrono_literals;

constexpr std::string_view kBootstrap = R"(
static_resources:
  listeners:
  - name: http
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: fuzz
          max_request_headers_kb: 8
          http2_protocol_options: { max_concurrent_streams: 16, initial_stream_window_size: 65535 }
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/r" }
                redirect: { path_redirect: "/elsewhere" }
              - match: { prefix: "/" }
                direct_response: { status: 200, body: { inline_string: "fuzz" } }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
)";

constexpr std::string_view kPrefaceAndSettings =
    std::string_view("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\4\0\0\0\0\0", 33);

// What a mesh-proxy worker holds, made on the worker thread.
struct WorkerObjects {
  explicit WorkerObjects(core::EventLoop& loop)
      : balancers(random), pool(loop), shadows(loop, pool, balancers, random) {}
  core::DefaultRandomGenerator random;
  proxy::upstream::WorkerLoadBalancers balancers;
  proxy::upstream::HttpPool pool;
  proxy::router::ShadowRequests shadows;
};

class Harness {
public:
  Harness() : workers_("fuzz", 1), slot_(main_, workers_) {
    auto bootstrap = proxy::config::parseBootstrap(kBootstrap, "fuzz");
    MESHD_ASSERT(bootstrap.ok(), "bad fuzz bootstrap");
    auto config = proxy::config::buildProxyConfig(*bootstrap);
    MESHD_ASSERT(config.ok(), "bad fuzz config");
    runtime_ = proxy::server::Runtime::build(std::move(*config),
                                             {{"http", boost::asio::ip::tcp::endpoint()}}, store_);
    workers_.start();
    slot_.publish(runtime_);
    onWorker([this] { objects_ = std::make_unique<WorkerObjects>(workers_.loop(0)); });
  }

  // Runs `task` on the worker and waits for it.
  void onWorker(std::function<void()> task) {
    std::mutex mutex;
    std::condition_variable done;
    bool finished = false;
    workers_.loop(0).post([&] {
      task();
      std::lock_guard lock(mutex);
      finished = true;
      done.notify_one();
    });
    std::unique_lock lock(mutex);
    done.wait(lock, [&] { return finished; });
  }

  void run(std::string_view input) {
    int fds[2];
    MESHD_ASSERT(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0, "socketpair");
    const int client = fds[1];
    onWorker([this, server = fds[0]] {
      const proxy::config::ListenerConfig& listener = runtime_->config.listeners.front();
      boost::asio::ip::tcp::socket socket(workers_.loop(0).context());
      socket.assign(boost::asio::ip::tcp::v4(), server);
      auto connection = std::make_shared<proxy::http::HttpConnectionManager>(
          proxy::http::WorkerContext{workers_.loop(0), slot_, objects_->balancers, objects_->pool,
                                     objects_->random, objects_->shadows, nullptr},
          std::move(socket), runtime_, listener, listener.filterChains.front(),
          proxy::network::ConnectionInfo{});
      connection->start(); // the socket keeps it alive until it closes
    });
    ::fcntl(client, F_SETFL, O_NONBLOCK);
    // Send everything (reading what comes back meanwhile), half-close, then read until the
    // proxy closes: it must, whatever it was sent.
    size_t sent = 0;
    bool halfClosed = false;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    char buffer[16384];
    while (true) {
      MESHD_ASSERT(std::chrono::steady_clock::now() < deadline,
                   "the connection did not end after the client half-closed");
      if (sent < input.size()) {
        const ssize_t n = ::send(client, input.data() + sent, input.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
          sent += static_cast<size_t>(n);
        } else if (n < 0 && errno != EAGAIN) {
          sent = input.size(); // the proxy closed already
        }
      } else if (!halfClosed) {
        ::shutdown(client, SHUT_WR);
        halfClosed = true;
      }
      pollfd poll{.fd = client, .events = POLLIN, .revents = 0};
      ::poll(&poll, 1, 10);
      const ssize_t n = ::recv(client, buffer, sizeof(buffer), 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        break;
      }
    }
    ::close(client);
    // The connection's owner is released, and ended streams deleted, by posted callbacks.
    for (int i = 0; i < 3; ++i) {
      onWorker([] {});
    }
    const auto& stats = runtime_->chainStats.begin()->second;
    MESHD_ASSERT(stats.httpDownstreamRqActive.value() == 0, "a request stayed active");
    MESHD_ASSERT(stats.httpDownstreamCxActive.value() == 0, "a connection stayed active");
  }

private:
  core::EventLoop main_{"fuzz-main"};
  core::WorkerPool workers_;
  core::SnapshotSlot<proxy::server::Runtime> slot_;
  stats::Store store_;
  std::shared_ptr<const proxy::server::Runtime> runtime_;
  std::unique_ptr<WorkerObjects> objects_;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* harness = new Harness(); // lives for the process: workers never stop
  if (size == 0) {
    return 0;
  }
  std::string input;
  if ((data[0] & 1) != 0) {
    input.append(kPrefaceAndSettings);
  }
  input.append(reinterpret_cast<const char*>(data + 1), size - 1);
  harness->run(input);
  return 0;
}
