// xds_load: how fast one config change reaches many proxies through meshd's xDS server.
// Forks the server (its own process, so its CPU time and RSS are its own), connects N simulated
// proxies over a few HTTP/2 channels on loopback, waits until all are in sync, then changes one
// endpoint (and, separately, one route) R times and reports, per change kind, the time from the
// change until each proxy received and ACKed it: p50, p99 and max over all proxies and changes,
// the server-side time until the last ACK arrived, and the server's CPU time per change.
//
//   build/release/bin/xds_load [--proxies 1000] [--clusters 1000] [--listeners 4]
//       [--channels 8] [--changes 10] [--debounce-ms 0] [--push-concurrency 2] [--timeout-s 60]
//       [--delta 1]
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/xds/load_server.h"
#include "bench/xds/simulated_proxy.h"
#include "control/xds/type_urls.h"
#include "fmt/format.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace meshd::bench::xds {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  LoadServerConfig server;
  int channels = 8;
  int changes = 10;
  int timeoutSeconds = 60;
  int delta = 0; // 1: delta ADS streams instead of state of the world
};

bool parse(int argc, char** argv, Options& options) {
  std::map<std::string, int*> flags = {
      {"--proxies", &options.server.proxies},
      {"--clusters", &options.server.clusters},
      {"--listeners", &options.server.listeners},
      {"--channels", &options.channels},
      {"--changes", &options.changes},
      {"--debounce-ms", &options.server.debounceMs},
      {"--push-concurrency", &options.server.pushConcurrency},
      {"--timeout-s", &options.timeoutSeconds},
      {"--delta", &options.delta},
  };
  for (int i = 1; i + 1 < argc; i += 2) {
    auto flag = flags.find(argv[i]);
    if (flag == flags.end()) {
      return false;
    }
    *flag->second = std::atoi(argv[i + 1]);
  }
  return argc % 2 == 1 && options.server.proxies > 0 && options.server.clusters > 0 &&
         options.server.listeners > 0 && options.channels > 0 && options.changes > 0;
}

// One line from the server process, waiting at most `timeout`.
std::string readLine(int fd, std::chrono::seconds timeout) {
  std::string line;
  Clock::time_point deadline = Clock::now() + timeout;
  char c = 0;
  while (Clock::now() < deadline) {
    pollfd waiting{fd, POLLIN, 0};
    int remaining = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (poll(&waiting, 1, std::max(remaining, 1)) <= 0) {
      continue;
    }
    if (read(fd, &c, 1) != 1) {
      break;
    }
    if (c == '\n') {
      return line;
    }
    line += c;
  }
  return line;
}

class LoadServerClient {
public:
  LoadServerClient(LoadServerProcess process, std::chrono::seconds timeout)
      : process_(process), timeout_(timeout) {}
  ~LoadServerClient() {
    (void)!write(process_.commandFd, &kQuit, 1);
    for (int i = 0; i < 50; ++i) {
      if (waitpid(process_.pid, nullptr, WNOHANG) == process_.pid) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(process_.pid, SIGKILL);
    waitpid(process_.pid, nullptr, 0);
  }
  std::string command(char letter) {
    (void)!write(process_.commandFd, &letter, 1);
    return readLine(process_.answerFd, timeout_);
  }
  std::string firstLine() { return readLine(process_.answerFd, timeout_); }

  struct Report {
    int64_t cpuMicros = -1;
    int64_t rssKib = -1;
    int64_t streams = -1;
  };
  Report report() {
    Report result;
    std::sscanf(command(kReport).c_str(), "%ld %ld %ld", &result.cpuMicros, &result.rssKib,
                &result.streams);
    return result;
  }

private:
  LoadServerProcess process_;
  std::chrono::seconds timeout_;
};

SubscriptionSet subscriptions(const LoadServerConfig& config) {
  using namespace meshd::control::xds;
  SubscriptionSet set;
  const std::array<std::string_view, kTypeCount> types = {kClusterType, kClusterLoadAssignmentType,
                                                          kListenerType, kRouteConfigurationType};
  for (size_t type = 0; type < kTypeCount; ++type) {
    set.sotw[type].set_type_url(std::string(types[type]));
    set.delta[type].set_type_url(std::string(types[type]));
  }
  for (int c = 0; c < config.clusters; ++c) {
    std::string name = fmt::format("outbound|9080||svc-{}.default.svc", c);
    set.sotw[kEndpoints].add_resource_names(name);
    set.delta[kEndpoints].add_resource_names_subscribe(name);
  }
  for (int l = 0; l < config.listeners; ++l) {
    std::string name = fmt::format("route-{}", l);
    set.sotw[kRoutes].add_resource_names(name);
    set.delta[kRoutes].add_resource_names_subscribe(name);
  }
  for (size_t type = 0; type < kTypeCount; ++type) {
    set.sotwBytes[type] = set.sotw[type].SerializeAsString();
  }
  return set;
}

// Waits until every proxy has more than `before[i]` ACKs of `type`; false on timeout or failure.
bool waitForAcks(const std::vector<std::unique_ptr<ProxyStats>>& proxies, XdsType type,
                 const std::vector<uint64_t>& before, Clock::time_point deadline) {
  size_t next = 0;
  while (next < proxies.size()) {
    if (proxies[next]->acks(type) > before[next]) {
      ++next;
      continue;
    }
    if (proxies[next]->done() || Clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

int64_t processCpuMicros() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto micros = [](const timeval& t) { return int64_t{t.tv_sec} * 1000000 + t.tv_usec; };
  return micros(usage.ru_utime) + micros(usage.ru_stime);
}

double percentile(std::vector<double> values, double q) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(q * static_cast<double>(values.size()));
  return values[std::min(index, values.size() - 1)];
}

struct ChangeResult {
  std::vector<double> proxyMs;     // every proxy, every change
  std::vector<double> lastProxyMs; // per change: the slowest proxy
  std::vector<double> serverAllAckedMs;
  std::vector<double> serverCpuMs;
  std::vector<double> clientCpuMs;
  int failures = 0;
};

ChangeResult measureChanges(LoadServerClient& server,
                            const std::vector<std::unique_ptr<ProxyStats>>& proxies, char command,
                            XdsType type, const Options& options) {
  ChangeResult result;
  for (int change = 0; change < options.changes; ++change) {
    std::vector<uint64_t> before;
    for (const auto& proxy : proxies) {
      before.push_back(proxy->acks(type));
    }
    int64_t cpu_before = server.report().cpuMicros;
    int64_t client_cpu_before = processCpuMicros();
    Clock::time_point start = Clock::now();
    if (server.command(command) != "ok" ||
        !waitForAcks(proxies, type, before,
                     Clock::now() + std::chrono::seconds(options.timeoutSeconds))) {
      ++result.failures;
      continue;
    }
    double slowest = 0;
    for (const auto& proxy : proxies) {
      double ms = std::chrono::duration<double, std::milli>(proxy->lastAck(type) - start).count();
      result.proxyMs.push_back(ms);
      slowest = std::max(slowest, ms);
    }
    result.lastProxyMs.push_back(slowest);
    result.serverAllAckedMs.push_back(std::atof(server.command(kWaitAcked).c_str()) / 1000.0);
    result.clientCpuMs.push_back(static_cast<double>(processCpuMicros() - client_cpu_before) /
                                 1000.0);
    result.serverCpuMs.push_back(static_cast<double>(server.report().cpuMicros - cpu_before) /
                                 1000.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // let ACK traffic settle
  }
  return result;
}

void printRow(const char* what, const ChangeResult& result) {
  std::printf(
      "| %s | %zu | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %d |\n",
      what, result.lastProxyMs.size(), percentile(result.proxyMs, 0.5),
      percentile(result.proxyMs, 0.99),
      *std::max_element(result.proxyMs.begin(), result.proxyMs.end()),
      percentile(result.lastProxyMs, 0.5), percentile(result.serverAllAckedMs, 0.5),
      percentile(result.serverCpuMs, 0.5), percentile(result.clientCpuMs, 0.5), result.failures);
}

int run(const Options& options) {
  const std::chrono::seconds timeout(options.timeoutSeconds);
  LoadServerClient server(forkLoadServer(options.server), timeout);
  int port = std::atoi(server.firstLine().c_str());
  if (port <= 0) {
    std::fprintf(stderr, "xds_load: the server did not start\n");
    return 1;
  }
  SubscriptionSet subscription_set = subscriptions(options.server);
  std::vector<Connection> connections;
  for (int c = 0; c < options.channels; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("meshd.bench.channel", c); // distinct args: a connection per channel
    args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
    auto channel = grpc::CreateCustomChannel(fmt::format("127.0.0.1:{}", port),
                                             grpc::InsecureChannelCredentials(), args);
    Connection connection;
    connection.typed = envoy::service::discovery::v3::AggregatedDiscoveryService::NewStub(channel);
    connection.raw = std::make_unique<grpc::TemplatedGenericStub<
        grpc::ByteBuffer, envoy::service::discovery::v3::DiscoveryResponse>>(channel);
    connections.push_back(std::move(connection));
  }

  const LoadServerClient::Report idle = server.report();
  std::vector<std::unique_ptr<ProxyStats>> proxies;
  Clock::time_point connect_start = Clock::now();
  for (int p = 0; p < options.server.proxies; ++p) {
    std::string node_id = fmt::format("sidecar~10.0.0.{}~proxy-{}", p, p);
    if (options.delta != 0) {
      proxies.push_back(std::make_unique<DeltaProxy>(node_id, subscription_set));
    } else {
      proxies.push_back(std::make_unique<SotwProxy>(node_id, subscription_set));
    }
    proxies.back()->start(connections[static_cast<size_t>(p % options.channels)]);
  }
  std::vector<uint64_t> zero(proxies.size(), 0);
  bool synced = true;
  for (XdsType type : {kClusters, kEndpoints, kListeners, kRoutes}) {
    synced = synced && waitForAcks(proxies, type, zero, connect_start + timeout);
  }
  double sync_seconds = std::chrono::duration<double>(Clock::now() - connect_start).count();
  const LoadServerClient::Report synced_report = server.report();

  int status = 0;
  if (!synced) {
    std::fprintf(stderr, "xds_load: proxies did not all sync within %d s\n",
                 options.timeoutSeconds);
    status = 1;
  } else {
    std::printf("%s ADS, proxies %d, clusters %d (+ as many ClusterLoadAssignments), "
                "listeners/routes %d, channels %d, changes %d of each kind, debounce %d ms, push "
                "concurrency %d\n\n",
                options.delta != 0 ? "delta" : "state-of-the-world", options.server.proxies,
                options.server.clusters, options.server.listeners, options.channels,
                options.changes, options.server.debounceMs, options.server.pushConcurrency);
    std::printf("initial sync of all proxies: %.2f s, server CPU %.2f s; server RSS idle %.1f MiB, "
                "with %ld streams in sync %.1f MiB\n\n",
                sync_seconds, static_cast<double>(synced_report.cpuMicros - idle.cpuMicros) / 1e6,
                static_cast<double>(idle.rssKib) / 1024, synced_report.streams,
                static_cast<double>(synced_report.rssKib) / 1024);
    ChangeResult endpoint = measureChanges(server, proxies, kChangeEndpoint, kEndpoints, options);
    ChangeResult route = measureChanges(server, proxies, kChangeRoute, kRoutes, options);
    std::printf("| change | runs | proxy ACK p50 | p99 | max | last proxy (median run) | server "
                "got last ACK (median) | server CPU per change (median) | simulator CPU per change "
                "(median) | failed runs |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    if (!endpoint.proxyMs.empty())
      printRow("one endpoint (EDS)", endpoint);
    if (!route.proxyMs.empty())
      printRow("one route (RDS)", route);
    const LoadServerClient::Report end = server.report();
    server.command(kTrim);
    const LoadServerClient::Report trimmed = server.report();
    std::printf("\nserver RSS after the changes: %.1f MiB (%.1f MiB after malloc_trim)\n",
                static_cast<double>(end.rssKib) / 1024, static_cast<double>(trimmed.rssKib) / 1024);
    status = endpoint.failures + route.failures > 0 ? 1 : 0;
  }

  for (auto& proxy : proxies) {
    proxy->cancel();
  }
  Clock::time_point deadline = Clock::now() + std::chrono::seconds(10);
  for (auto& proxy : proxies) {
    while (!proxy->done() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!proxy->done()) {
      std::fprintf(stderr, "xds_load: streams did not close\n");
      std::fflush(stdout);
      _exit(1); // reactors still referenced by gRPC: do not destroy them
    }
  }
  return status;
}

} // namespace
} // namespace meshd::bench::xds

int main(int argc, char** argv) {
  meshd::bench::xds::Options options;
  if (!meshd::bench::xds::parse(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: %s [--proxies N] [--clusters N] [--listeners N] [--channels N] "
                 "[--changes N] [--debounce-ms N] [--push-concurrency N] [--timeout-s N]\n",
                 argv[0]);
    return 2;
  }
  return meshd::bench::xds::run(options);
}
