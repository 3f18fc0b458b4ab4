// XdsServer: meshd's Envoy v3 xDS server (DESIGN.md §2 steps 4-6). Serves ADS and the per-type
// discovery services, state of the world and delta, on gRPC's callback API (no thread per stream).
// Resources come from a ResourceProvider; the control plane calls push() after it changed what
// the provider returns, and the server sends each affected client what changed for it.
//
//   SnapshotCache cache;                  // or any ResourceProvider
//   XdsServer server(cache, options);
//   RETURN_IF_ERROR(server.start());      // server.port() is the bound port
//   cache.setDefault(snapshot); server.push();
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "control/xds/push_debouncer.h"
#include "control/xds/resource_provider.h"
#include "control/xds/server_metrics.h"
#include "control/xds/server_options.h"
#include "control/xds/stream_host.h"
#include "core/event_loop.h"
#include "grpcpp/server.h"

namespace meshd::control::xds {

class XdsServer final : private StreamHost {
public:
  XdsServer(ResourceProvider& provider, ServerOptions options = {});
  ~XdsServer() override; // shuts down if still running
  XdsServer(const XdsServer&) = delete;
  XdsServer& operator=(const XdsServer&) = delete;

  // Binds and starts serving. Error if the address cannot be bound.
  absl::Status start();
  // The bound port (after start()).
  int port() const { return port_; }

  // Asks the server to refresh every stream (or the streams of these node ids) from the provider.
  // Debounced; returns at once; thread-safe.
  void push();
  void push(const std::vector<std::string>& node_ids);

  // Ends every stream with UNAVAILABLE and stops the server, waiting up to `grace` for streams
  // to finish. Idempotent.
  void shutdown(std::chrono::milliseconds grace = std::chrono::seconds(5));

  // Debug state: every stream whose first request has arrived.
  std::vector<StreamInfo> streams() const;
  size_t streamCount() const;
  ServerCounters counters() const;
  stats::Store& statsStore() { return *stats_; }

private:
  struct RegisteredStream {
    std::string nodeId;
    std::shared_ptr<XdsStream> stream;
  };

  // StreamHost
  uint64_t newStreamId() override;
  const core::TimeSource& timeSource() const override { return *time_; }
  SnapshotPtr snapshotFor(const envoy::config::core::v3::Node& node) override;
  void streamStarted(uint64_t id, const std::string& node_id,
                     std::shared_ptr<XdsStream> stream) override;
  void streamEnded(uint64_t id) override;
  void requestRead(uint64_t id, const std::string& node_id, const RequestOutcome& outcome) override;
  void responseWritten() override;

  void requestPush(PushTargets targets);
  // On the push thread: refreshes the targeted streams, `pushConcurrency` at a time.
  void runPush(const PushTargets& targets);

  ResourceProvider& provider_;
  ServerOptions options_;
  const core::TimeSource* time_;
  std::unique_ptr<stats::Store> ownedStats_;
  stats::Store* stats_;
  ServerMetrics metrics_;

  core::EventLoop pushLoop_{"xds-push"};
  std::thread pushThread_;
  std::unique_ptr<PushDebouncer> debouncer_; // used on the push thread only

  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool stopped_ = false;

  mutable std::mutex streamsMutex_;
  std::map<uint64_t, RegisteredStream> streams_;
  std::atomic<uint64_t> nextStreamId_{0};
};

} // namespace meshd::control::xds
