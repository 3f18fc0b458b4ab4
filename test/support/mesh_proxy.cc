// MeshProxy and EchoServer test helpers (mesh_proxy.h).
#include "test/support/mesh_proxy.h"

#include <algorithm>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>

#include "test/support/http_client.h"

namespace meshd::testing {

using namespace std::chrono_literals;

MeshProxy::MeshProxy(const std::string& bootstrap_yaml, std::vector<std::string> extra_args) {
  const auto config = dir_.write("bootstrap.yaml", bootstrap_yaml);
  const auto addressFile = dir_.path() / "admin-address";
  std::vector<std::string> argv = {
      (binaryDir() / "mesh-proxy").string(),
      "-c",
      config.string(),
      "--admin-address-path",
      addressFile.string(),
  };
  // Defaults the test may override with its own value.
  for (const auto& [flag, value] : {std::pair{"--concurrency", "2"}, {"--drain-time-s", "2"}}) {
    if (std::find(extra_args.begin(), extra_args.end(), flag) == extra_args.end()) {
      argv.insert(argv.end(), {flag, value});
    }
  }
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_ = std::make_unique<Process>(ProcessOptions{.argv = argv, .outputDir = dir_.path()});
  uint16_t port = 0;
  const bool ready = waitFor(
      [&] {
        if (!process_->running()) {
          return true;
        }
        if (port == 0) {
          const std::string address = readFile(addressFile);
          const size_t colon = address.rfind(':');
          if (colon == std::string::npos) {
            return false;
          }
          port = static_cast<uint16_t>(std::atoi(address.c_str() + colon + 1));
        }
        return httpGet(port, "/ready").status == 200;
      },
      30s, 20ms);
  if (ready && process_->running()) {
    adminPort_ = port;
  }
}

uint16_t MeshProxy::listenerPort(const std::string& name) const {
  const std::string listeners = httpGet(adminPort_, "/listeners").body;
  const std::regex line("(^|\n)" + name + "::[^\n]*:([0-9]+)(\n|$)");
  std::smatch match;
  if (!std::regex_search(listeners, match, line)) {
    return 0;
  }
  return static_cast<uint16_t>(std::stoi(match[2].str()));
}

EchoServer::EchoServer(std::string greeting) : greeting_(std::move(greeting)) {
  listenFd_ = listenLoopback(port_, 128);
  acceptor_ = std::thread([this] {
    while (!stopping_) {
      pollfd pfd{listenFd_, POLLIN, 0};
      if (::poll(&pfd, 1, 50) <= 0) {
        continue;
      }
      const int fd = ::accept(listenFd_, nullptr, nullptr);
      if (fd < 0) {
        continue;
      }
      ++connections_;
      std::lock_guard lock(mutex_);
      threads_.emplace_back([this, fd] {
        if (!greeting_.empty()) {
          sendAll(fd, greeting_);
        }
        char buffer[65536];
        while (!stopping_) {
          pollfd readable{fd, POLLIN, 0};
          if (::poll(&readable, 1, 50) <= 0) {
            continue;
          }
          const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
          if (n <= 0 || !sendAll(fd, std::string(buffer, static_cast<size_t>(n)))) {
            break;
          }
        }
        ::close(fd);
      });
    }
  });
}

EchoServer::~EchoServer() {
  stopping_ = true;
  acceptor_.join();
  std::lock_guard lock(mutex_);
  for (auto& thread : threads_) {
    thread.join();
  }
  ::close(listenFd_);
}

std::string adsBootstrap(uint16_t xds_port, const std::string& node) {
  return "node: " + node + R"(
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services: [ { envoy_grpc: { cluster_name: xds } } ]
  cds_config: { ads: {}, resource_api_version: V3, initial_fetch_timeout: 2s }
  lds_config: { ads: {}, resource_api_version: V3 }
static_resources:
  clusters:
  - name: xds
    load_assignment:
      cluster_name: xds
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: )" +
         std::to_string(xds_port) + " } } }\n";
}

} // namespace meshd::testing
