// Route retry policies through mesh-proxy against a scripted backend: retries on 5xx and
// retriable status codes with the request body replayed, connect failures retried on another
// host, per-try timeouts, and what happens when the retries run out.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <map>
#include <mutex>
#include <regex>
#include <thread>

#include "fmt/format.h"
#include "test/support/http_backend.h"
#include "test/support/http_client.h"
#include "test/support/mesh_proxy.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

// Answers requests in order from a script of (status, delay); 200 when the script is empty.
// Records every request body.
class ScriptedBackend {
public:
  struct Step {
    int status;
    std::chrono::milliseconds delay{0};
  };
  ScriptedBackend(std::initializer_list<Step> script = {}) : script_(script) {
    fd_ = listenLoopback(port_, 64);
    acceptor_ = std::thread([this] {
      while (!stop_) {
        pollfd pfd{fd_, POLLIN, 0};
        if (::poll(&pfd, 1, 50) <= 0) {
          continue;
        }
        const int client = ::accept(fd_, nullptr, nullptr);
        if (client >= 0) {
          std::lock_guard lock(mutex_);
          threads_.emplace_back([this, client] { serve(client); });
        }
      }
    });
  }
  ~ScriptedBackend() {
    stop_ = true;
    acceptor_.join();
    std::lock_guard lock(mutex_);
    for (auto& thread : threads_) {
      thread.join();
    }
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mutex_);
    return bodies_;
  }

private:
  void serve(int client) {
    std::string data;
    char buffer[65536];
    while (!stop_) {
      size_t headEnd = data.find("\r\n\r\n");
      if (headEnd != std::string::npos) {
        std::smatch match;
        const std::string head = data.substr(0, headEnd);
        const size_t length = std::regex_search(head, match, std::regex("content-length: ([0-9]+)"))
                                  ? std::stoul(match[1].str())
                                  : 0;
        if (data.size() >= headEnd + 4 + length) {
          Step step{200};
          {
            std::lock_guard lock(mutex_);
            bodies_.push_back(data.substr(headEnd + 4, length));
            if (!script_.empty()) {
              step = script_.front();
              script_.pop_front();
            }
          }
          data.erase(0, headEnd + 4 + length);
          for (auto waited = 0ms; waited < step.delay && !stop_; waited += 10ms) {
            std::this_thread::sleep_for(10ms);
          }
          const std::string body = std::to_string(step.status);
          if (!sendAll(client, fmt::format("HTTP/1.1 {} X\r\ncontent-length: {}\r\n\r\n{}",
                                           step.status, body.size(), body))) {
            break;
          }
          continue;
        }
      }
      pollfd pfd{client, POLLIN, 0};
      if (::poll(&pfd, 1, 50) <= 0) {
        continue;
      }
      const ssize_t n = ::recv(client, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        break;
      }
      data.append(buffer, static_cast<size_t>(n));
    }
    ::close(client);
  }

  std::mutex mutex_;
  std::deque<Step> script_;
  std::vector<std::string> bodies_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> threads_;
};

std::string bootstrap(const std::string& retry_policy, const std::vector<uint16_t>& ports) {
  std::string endpoints;
  for (uint16_t port : ports) {
    endpoints += fmt::format("\n        - endpoint: {{ address: {{ socket_address: {{ address: "
                             "127.0.0.1, port_value: {} }} }} }}",
                             port);
  }
  return fmt::format(R"(
admin: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }} }}
static_resources:
  listeners:
  - name: http
    address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: retry
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {{ prefix: / }}
                route:
                  cluster: backend
                  retry_policy: {}
          http_filters: [{{ name: envoy.filters.http.router, typed_config: {{ "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }} }}]
  clusters:
  - name: backend
    connect_timeout: 0.5s
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:{}
)",
                     retry_policy, endpoints);
}

std::string stat(const MeshProxy& proxy, const std::string& name) {
  const std::string text = httpGet(proxy.adminPort(), "/stats").body;
  const size_t at = text.find(name + ": ");
  return at == std::string::npos
             ? ""
             : text.substr(at + name.size() + 2, text.find('\n', at) - at - name.size() - 2);
}

TEST(RetryTest, FiveHundredsAreRetriedWithTheBodyReplayed) {
  ScriptedBackend backend{{503}, {503}};
  MeshProxy proxy(
      bootstrap("{ retry_on: 5xx, num_retries: 2, retry_back_off: { base_interval: 0.01s } }",
                {backend.port()}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const auto result = httpRequest(proxy.listenerPort("http"), "POST", "/order", "payload-123");
  EXPECT_EQ(result.status, 200) << result.body;
  EXPECT_EQ(backend.bodies(),
            (std::vector<std::string>{"payload-123", "payload-123", "payload-123"}));
  EXPECT_EQ(stat(proxy, "cluster.backend.upstream_rq_retry"), "2");
  EXPECT_EQ(stat(proxy, "cluster.backend.upstream_rq_retry_success"), "1");
  EXPECT_EQ(stat(proxy, "cluster.backend.upstream_rq_total"), "3") << "one per attempt, as Envoy";
}

TEST(RetryTest, ExhaustedRetriesReturnTheLastResponse) {
  ScriptedBackend backend{{503}, {503}, {503}};
  MeshProxy proxy(bootstrap(
      "{ retry_on: gateway-error, num_retries: 1, retry_back_off: { base_interval: 0.01s } }",
      {backend.port()}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const auto result = httpGet(proxy.listenerPort("http"), "/");
  EXPECT_EQ(result.status, 503);
  EXPECT_EQ(backend.bodies().size(), 2u);
  EXPECT_EQ(stat(proxy, "cluster.backend.upstream_rq_retry_limit_exceeded"), "1");
}

TEST(RetryTest, OnlyListedStatusCodesAreRetried) {
  ScriptedBackend backend{{418}, {500}};
  MeshProxy proxy(bootstrap(
      "{ retry_on: retriable-status-codes, retriable_status_codes: [418], num_retries: 3 }",
      {backend.port()}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  EXPECT_EQ(httpGet(proxy.listenerPort("http"), "/").status, 500); // 418 retried, 500 is not listed
  EXPECT_EQ(backend.bodies().size(), 2u);
}

TEST(RetryTest, ConnectFailuresMoveToAnotherHost) {
  ScriptedBackend live;
  const uint16_t dead = pickFreePort();
  MeshProxy proxy(bootstrap(
      "{ retry_on: connect-failure, num_retries: 3, retry_back_off: { base_interval: 0.01s } }",
      {dead, live.port()}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(httpGet(proxy.listenerPort("http"), "/").status, 200) << i;
  }
  EXPECT_NE(stat(proxy, "cluster.backend.upstream_rq_retry"), "0");
}

TEST(RetryTest, PerTryTimeoutRetriesASlowAttempt) {
  ScriptedBackend backend{{200, 3000ms}};
  MeshProxy proxy(bootstrap("{ retry_on: reset, num_retries: 1, per_try_timeout: 0.3s, "
                            "retry_back_off: { base_interval: 0.01s } }",
                            {backend.port()}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(httpGet(proxy.listenerPort("http"), "/").status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms); // did not wait for the slow one
  EXPECT_EQ(backend.bodies().size(), 2u);
  EXPECT_EQ(stat(proxy, "cluster.backend.upstream_rq_per_try_timeout"), "1");
  EXPECT_EQ(stat(proxy, "cluster.backend.upstream_rq_timeout"), "0") << "the route's timeout only";
}

// Virtual host include_request_attempt_count (Istio sets it on every outbound and gateway virtual
// host): each attempt tells the upstream its number.
TEST(RetryTest, AttemptCountHeaderNumbersTheAttempts) {
  HttpBackend backend("a");
  backend.failNext(2, 503);
  std::string config =
      bootstrap("{ retry_on: 5xx, num_retries: 2, retry_back_off: { base_interval: "
                "0.01s } }",
                {backend.port()});
  const std::string vhost = "            - name: all\n";
  ASSERT_NE(config.find(vhost), std::string::npos);
  config.replace(config.find(vhost), vhost.size(),
                 vhost + "              include_request_attempt_count: true\n");
  MeshProxy proxy(config);
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  EXPECT_EQ(httpGet(proxy.listenerPort("http"), "/").status, 200);
  EXPECT_EQ(httpGet(proxy.listenerPort("http"), "/").status, 200);
  std::vector<std::string> counts;
  for (const RecordedRequest& request : backend.requests()) {
    counts.push_back(request.header("x-envoy-attempt-count").value_or("none"));
  }
  EXPECT_EQ(counts, (std::vector<std::string>{"1", "2", "3", "1"}));
}

TEST(RetryTest, NoPolicyNoRetry) {
  ScriptedBackend backend{{503}};
  MeshProxy proxy(bootstrap("{ retry_on: \"\" }", {backend.port()}));
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  EXPECT_EQ(httpGet(proxy.listenerPort("http"), "/").status, 503);
  EXPECT_EQ(backend.bodies().size(), 1u);
}

TEST(RetryTest, UnknownConditionIsRejected) {
  TempDir dir;
  const auto file = dir.write("b.yaml", bootstrap("{ retry_on: \"5xx,sometimes\" }", {1}));
  Process proxy({.argv = {(binaryDir() / "mesh-proxy").string(), "-c", file.string()}});
  EXPECT_EQ(proxy.wait(30s), 1);
  EXPECT_NE(proxy.errors().find("route.retry_policy.retry_on: unknown retry condition 'sometimes'"),
            std::string::npos)
      << proxy.errors();
}

} // namespace
} // namespace meshd::testing
