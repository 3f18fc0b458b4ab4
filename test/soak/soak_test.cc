// Mixed-load soak of mesh-proxy in front of nginx: keep-alive and one-shot clients, large
// uploads and downloads, slow clients and aborted requests, all at once for MESHD_SOAK_SECONDS
// (default 20; docs/development.md gives the one-hour command). Passes when every well-formed
// exchange succeeded, the proxy's memory stayed flat after warm-up, and the proxy (a sanitizer
// build in `make test`) exits cleanly with no sanitizer report.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fmt/format.h"
#include "test/support/http_client.h"
#include "test/support/mesh_proxy.h"
#include "test/support/process.h"
#include "test/support/temp_dir.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::chrono::seconds soakDuration() {
  const char* value = std::getenv("MESHD_SOAK_SECONDS");
  return std::chrono::seconds(value != nullptr ? std::max(1, std::atoi(value)) : 20);
}

// Resident set size of a process in KiB.
long rssKib(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::atol(line.c_str() + 6);
    }
  }
  return -1;
}

// Reads one response with a content-length body; returns the status (0 on failure).
int readResponse(int fd, std::string& pending, size_t* body_size = nullptr) {
  char buffer[65536];
  size_t headEnd;
  while ((headEnd = pending.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) {
      return 0;
    }
    pending.append(buffer, static_cast<size_t>(n));
  }
  const int status = std::atoi(pending.c_str() + 9);
  const size_t cl = pending.find("content-length: ");
  if (cl == std::string::npos || cl > headEnd) {
    return 0;
  }
  const size_t length = std::strtoul(pending.c_str() + cl + 16, nullptr, 10);
  while (pending.size() < headEnd + 4 + length) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) {
      return 0;
    }
    pending.append(buffer, static_cast<size_t>(n));
  }
  pending.erase(0, headEnd + 4 + length);
  if (body_size != nullptr) {
    *body_size = length;
  }
  return status;
}

struct Counters {
  std::atomic<long> ok{0};
  std::atomic<long> failed{0};
};

class SoakTest : public ::testing::Test {
protected:
  void SetUp() override {
    backendPort_ = pickFreePort();
    const auto large = dir_.write("www/large", std::string(1 << 20, 'L'));
    // nginx started as root serves files as an unprivileged user: let it read them.
    namespace fs = std::filesystem;
    fs::permissions(dir_.path(), fs::perms::owner_all | fs::perms::group_read |
                                     fs::perms::group_exec | fs::perms::others_read |
                                     fs::perms::others_exec);
    fs::permissions(large.parent_path(),
                    fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec);
    fs::permissions(large, fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
    const auto conf = dir_.write("nginx.conf", fmt::format(R"(
worker_processes 1;
daemon off;
pid {0}/nginx.pid;
error_log {0}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {0}/body;
  keepalive_requests 1000000;
  client_max_body_size 16m;
  server {{
    listen 127.0.0.1:{1};
    root {0}/www;
    location = /small {{ return 200 "small\n"; }}
    location = /upload {{ client_body_buffer_size 1m; proxy_pass http://127.0.0.1:{1}/small; }}
  }}
}}
)",
                                                           dir_.path().string(), backendPort_));
    nginx_ = std::make_unique<Process>(
        ProcessOptions{.argv = {"nginx", "-c", conf.string(), "-p", dir_.path().string()}});
    ASSERT_TRUE(waitFor([&] { return tcpPortOpen(backendPort_); }, 10s)) << nginx_->errors();
  }

  TempDir dir_;
  uint16_t backendPort_ = 0;
  std::unique_ptr<Process> nginx_;
};

std::string bootstrap(uint16_t backend) {
  return fmt::format(R"(
admin: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }} }}
static_resources:
  listeners:
  - name: http
    address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
    per_connection_buffer_limit_bytes: 65536
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: soak
          route_config:
            virtual_hosts:
            - {{ name: all, domains: ["*"], routes: [{{ match: {{ prefix: / }}, route: {{ cluster: nginx, timeout: 30s }} }}] }}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {{ "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }}
  clusters:
  - name: nginx
    connect_timeout: 2s
    load_assignment:
      cluster_name: nginx
      endpoints:
      - lb_endpoints:
        - endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {} }} }} }}
)",
                     backend);
}

TEST_F(SoakTest, MixedLoadKeepsWorkingAndMemoryStaysFlat) {
  // A small ASan quarantine (for sanitizer builds) so that freed memory is reused and RSS can
  // plateau; the proxy inherits it.
  ::setenv("ASAN_OPTIONS", "quarantine_size_mb=16:detect_leaks=1", 1);
  MeshProxy proxy(bootstrap(backendPort_), {"--log-level", "warning"});
  ASSERT_TRUE(proxy.started()) << proxy.logs();
  const uint16_t port = proxy.listenerPort("http");
  const pid_t pid = proxy.process().pid();
  const auto duration = soakDuration();
  const auto deadline = Clock::now() + duration;
  const auto warmupEnd = Clock::now() + std::max<std::chrono::seconds>(duration / 5, 2s);

  Counters keepAlive, oneShot, uploads, downloads, slow, aborted;
  std::atomic<long> warmRss{0};
  std::atomic<long> peakRss{0};
  std::vector<std::thread> clients;

  clients.emplace_back([&] { // keep-alive GETs on one connection at a time
    while (Clock::now() < deadline) {
      const int fd = connectLoopback(port);
      std::string pending;
      for (int i = 0; i < 200 && fd >= 0 && Clock::now() < deadline; ++i) {
        const bool sent = sendAll(fd, "GET /small HTTP/1.1\r\nhost: soak\r\n\r\n");
        (sent && readResponse(fd, pending) == 200 ? keepAlive.ok : keepAlive.failed)++;
      }
      ::close(fd);
    }
  });
  clients.emplace_back([&] { // a new connection per request
    while (Clock::now() < deadline) {
      (httpGet(port, "/small").status == 200 ? oneShot.ok : oneShot.failed)++;
    }
  });
  clients.emplace_back([&] { // 256 KiB uploads, keep-alive
    const std::string body(256 << 10, 'u');
    while (Clock::now() < deadline) {
      const int fd = connectLoopback(port);
      std::string pending;
      for (int i = 0; i < 20 && fd >= 0 && Clock::now() < deadline; ++i) {
        const bool sent = sendAll(
            fd, fmt::format("POST /upload HTTP/1.1\r\nhost: soak\r\ncontent-length: {}\r\n\r\n",
                            body.size()) +
                    body);
        (sent && readResponse(fd, pending) == 200 ? uploads.ok : uploads.failed)++;
      }
      ::close(fd);
    }
  });
  clients.emplace_back([&] { // 1 MiB downloads
    while (Clock::now() < deadline) {
      const int fd = connectLoopback(port);
      std::string pending;
      size_t size = 0;
      const bool sent = fd >= 0 && sendAll(fd, "GET /large HTTP/1.1\r\nhost: soak\r\n\r\n");
      (sent && readResponse(fd, pending, &size) == 200 && size == (1u << 20) ? downloads.ok
                                                                             : downloads.failed)++;
      ::close(fd);
    }
  });
  clients.emplace_back([&] { // slow client: the request a byte at a time
    const std::string request = "GET /small HTTP/1.1\r\nhost: soak\r\nx-slow: yes\r\n\r\n";
    while (Clock::now() < deadline) {
      const int fd = connectLoopback(port);
      bool sent = fd >= 0;
      for (char c : request) {
        sent = sent && sendAll(fd, std::string(1, c));
        std::this_thread::sleep_for(2ms);
      }
      std::string pending;
      (sent && readResponse(fd, pending) == 200 ? slow.ok : slow.failed)++;
      ::close(fd);
    }
  });
  clients.emplace_back([&] { // aborted: half a request, or a download dropped midway
    int i = 0;
    while (Clock::now() < deadline) {
      const int fd = connectLoopback(port);
      if (fd < 0) {
        aborted.failed++;
        continue;
      }
      if (++i % 2 == 0) {
        sendAll(fd, "POST /upload HTTP/1.1\r\nhost: soak\r\ncontent-length: 100000\r\n\r\npartial");
      } else {
        sendAll(fd, "GET /large HTTP/1.1\r\nhost: soak\r\n\r\n");
        char buffer[8192];
        (void)::recv(fd, buffer, sizeof(buffer), 0);
      }
      ::close(fd);
      aborted.ok++;
    }
  });
  clients.emplace_back([&] { // memory sampler
    while (Clock::now() < deadline) {
      const long rss = rssKib(pid);
      if (Clock::now() >= warmupEnd && warmRss == 0) {
        warmRss = rss;
      }
      if (warmRss != 0) {
        peakRss = std::max(peakRss.load(), rss);
      }
      std::this_thread::sleep_for(200ms);
    }
  });
  for (auto& client : clients) {
    client.join();
  }

  const auto report = fmt::format(
      "keep-alive {}/{} one-shot {}/{} uploads {}/{} downloads {}/{} slow {}/{} aborted {} "
      "rss warm {} KiB peak {} KiB",
      keepAlive.ok.load(), keepAlive.failed.load(), oneShot.ok.load(), oneShot.failed.load(),
      uploads.ok.load(), uploads.failed.load(), downloads.ok.load(), downloads.failed.load(),
      slow.ok.load(), slow.failed.load(), aborted.ok.load(), warmRss.load(), peakRss.load());
  std::cout << "soak: " << report << std::endl;
  for (const Counters* kind : {&keepAlive, &oneShot, &uploads, &downloads, &slow}) {
    EXPECT_GT(kind->ok.load(), 0) << report;
    EXPECT_EQ(kind->failed.load(), 0) << report;
  }
  // Flat: after warm-up the proxy may grow a little (allocator caches, ASan's quarantine) but
  // not with the number of requests served.
  EXPECT_LT(peakRss.load(), std::max(warmRss.load() * 3 / 2, warmRss.load() + 32 * 1024)) << report;
  // The proxy exits cleanly, with no sanitizer report.
  proxy.process().signal(SIGTERM);
  EXPECT_EQ(proxy.process().wait(30s), 0) << proxy.logs().substr(0, 4000);
  EXPECT_EQ(proxy.logs().find("Sanitizer"), std::string::npos) << proxy.logs().substr(0, 4000);
}

} // namespace
} // namespace meshd::testing
