// The server process of the xDS load benchmark (see load_server.h).
#include "bench/xds/load_server.h"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>

#include "control/xds/snapshot_cache.h"
#include "control/xds/type_urls.h"
#include "control/xds/xds_server.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "fmt/format.h"

namespace meshd::bench::xds {
namespace {

using namespace meshd::control::xds;

std::string clusterName(int i) {
  return fmt::format("outbound|9080||svc-{}.default.svc", i);
}

envoy::config::endpoint::v3::ClusterLoadAssignment endpoints(int cluster, int generation) {
  envoy::config::endpoint::v3::ClusterLoadAssignment assignment;
  assignment.set_cluster_name(clusterName(cluster));
  auto* locality = assignment.add_endpoints();
  locality->mutable_locality()->set_region("local");
  locality->mutable_load_balancing_weight()->set_value(1);
  for (int e = 0; e < 3; ++e) {
    auto* address = locality->add_lb_endpoints()
                        ->mutable_endpoint()
                        ->mutable_address()
                        ->mutable_socket_address();
    address->set_address(fmt::format("10.{}.{}.{}", cluster / 250, cluster % 250, e + 1));
    address->set_port_value(static_cast<uint32_t>(9080 + generation));
  }
  return assignment;
}

envoy::config::route::v3::RouteConfiguration route(int index, int clusters, int listeners,
                                                   int generation) {
  envoy::config::route::v3::RouteConfiguration config;
  config.set_name(fmt::format("route-{}", index));
  for (int c = index; c < clusters; c += listeners) {
    auto* host = config.add_virtual_hosts();
    host->set_name(fmt::format("svc-{}", c));
    host->add_domains(fmt::format("svc-{}.default.svc.cluster.local", c));
    auto* entry = host->add_routes();
    entry->mutable_match()->set_prefix("/");
    entry->mutable_route()->set_cluster(clusterName(c));
    entry->mutable_route()->mutable_timeout()->set_seconds(15 + generation);
  }
  return config;
}

envoy::config::listener::v3::Listener listener(int index) {
  envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager manager;
  manager.set_stat_prefix(fmt::format("http-{}", index));
  manager.mutable_rds()->set_route_config_name(fmt::format("route-{}", index));
  manager.mutable_rds()->mutable_config_source()->mutable_ads();
  auto* router = manager.add_http_filters();
  router->set_name("envoy.filters.http.router");
  router->mutable_typed_config()->PackFrom(envoy::extensions::filters::http::router::v3::Router());
  envoy::config::listener::v3::Listener result;
  result.set_name(fmt::format("listener-{}", index));
  auto* address = result.mutable_address()->mutable_socket_address();
  address->set_address("0.0.0.0");
  address->set_port_value(static_cast<uint32_t>(8000 + index));
  auto* filter = result.add_filter_chains()->add_filters();
  filter->set_name("envoy.filters.network.http_connection_manager");
  filter->mutable_typed_config()->PackFrom(manager);
  return result;
}

SnapshotPtr initialSnapshot(const LoadServerConfig& config) {
  ResourceSnapshotBuilder builder;
  for (int c = 0; c < config.clusters; ++c) {
    envoy::config::cluster::v3::Cluster cluster;
    cluster.set_name(clusterName(c));
    cluster.set_type(envoy::config::cluster::v3::Cluster::EDS);
    cluster.mutable_eds_cluster_config()->mutable_eds_config()->mutable_ads();
    cluster.mutable_connect_timeout()->set_seconds(10);
    (void)builder.add(cluster);
    (void)builder.add(endpoints(c, 0));
  }
  for (int l = 0; l < config.listeners; ++l) {
    (void)builder.add(listener(l));
    (void)builder.add(route(l, config.clusters, config.listeners, 0));
  }
  return builder.build();
}

int64_t cpuMicros() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto micros = [](const timeval& t) { return int64_t{t.tv_sec} * 1000000 + t.tv_usec; };
  return micros(usage.ru_utime) + micros(usage.ru_stime);
}

int64_t rssKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stoll(line.substr(6));
    }
  }
  return -1;
}

// Counts ACKs of one type after a change, to time "the last proxy ACKed" on the server side.
class AckCounter {
public:
  void arm(std::string type_url) {
    std::lock_guard lock(mutex_);
    type_ = std::move(type_url);
    count_ = 0;
    start_ = std::chrono::steady_clock::now();
    done_.reset();
  }
  void onRequest(const RequestEvent& event, int expected) {
    if (event.outcome->kind != RequestKind::kAck) {
      return;
    }
    std::lock_guard lock(mutex_);
    if (event.outcome->typeUrl == type_ && ++count_ == expected) {
      done_ = std::chrono::steady_clock::now();
      changed_.notify_all();
    }
  }
  int64_t waitMicros(std::chrono::seconds timeout) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return done_.has_value(); })) {
      return -1;
    }
    return std::chrono::duration_cast<std::chrono::microseconds>(*done_ - start_).count();
  }

private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string type_;
  int count_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::optional<std::chrono::steady_clock::time_point> done_;
};

void writeLine(int fd, const std::string& line) {
  std::string data = line + "\n";
  (void)!write(fd, data.data(), data.size());
}

[[noreturn]] void serve(const LoadServerConfig& config, int command_fd, int answer_fd) {
  SnapshotCache cache;
  SnapshotPtr snapshot = initialSnapshot(config);
  cache.setDefault(snapshot);
  AckCounter acks;
  ServerOptions options;
  options.debounceQuietPeriod = std::chrono::milliseconds(config.debounceMs);
  options.debounceMaxDelay = std::chrono::milliseconds(std::max(config.debounceMs * 10, 1));
  options.pushConcurrency = static_cast<uint32_t>(config.pushConcurrency);
  options.onRequest = [&](const RequestEvent& event) { acks.onRequest(event, config.proxies); };
  XdsServer server(cache, options);
  if (!server.start().ok()) {
    writeLine(answer_fd, "0");
    _exit(1);
  }
  writeLine(answer_fd, std::to_string(server.port()));
  int generation = 0;
  char command = 0;
  while (read(command_fd, &command, 1) == 1 && command != kQuit) {
    if (command == kChangeEndpoint || command == kChangeRoute) {
      ++generation;
      ResourceSnapshotBuilder builder(*snapshot);
      if (command == kChangeEndpoint) {
        acks.arm(std::string(kClusterLoadAssignmentType));
        (void)builder.add(endpoints(0, generation));
      } else {
        acks.arm(std::string(kRouteConfigurationType));
        (void)builder.add(route(0, config.clusters, config.listeners, generation));
      }
      snapshot = builder.build();
      cache.setDefault(snapshot);
      server.push();
      writeLine(answer_fd, "ok");
    } else if (command == kWaitAcked) {
      writeLine(answer_fd, std::to_string(acks.waitMicros(std::chrono::seconds(60))));
    } else if (command == kTrim) {
      malloc_trim(0);
      writeLine(answer_fd, "ok");
    } else if (command == kReport) {
      writeLine(answer_fd, fmt::format("{} {} {}", cpuMicros(), rssKib(), server.streamCount()));
    }
  }
  server.shutdown(std::chrono::seconds(2));
  _exit(0);
}

} // namespace

LoadServerProcess forkLoadServer(const LoadServerConfig& config) {
  int commands[2];
  int answers[2];
  if (pipe(commands) != 0 || pipe(answers) != 0) {
    return {};
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(commands[1]);
    close(answers[0]);
    serve(config, commands[0], answers[1]);
  }
  close(commands[0]);
  close(answers[1]);
  return LoadServerProcess{pid, commands[1], answers[0]};
}

} // namespace meshd::bench::xds
