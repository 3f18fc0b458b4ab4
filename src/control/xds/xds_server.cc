// XdsServer: gRPC server setup, the stream registry, debounced pushes and shutdown
// (see xds_server.h).
#include "control/xds/xds_server.h"

#include <algorithm>

#include "control/xds/discovery_services.h"
#include "core/logging.h"
#include "core/status.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace meshd::control::xds {
namespace {

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("xds");
  return instance;
}

stats::Store* storeOf(const ServerOptions& options, std::unique_ptr<stats::Store>& owned) {
  if (options.stats != nullptr) {
    return options.stats;
  }
  owned = std::make_unique<stats::Store>();
  return owned.get();
}

} // namespace

XdsServer::XdsServer(ResourceProvider& provider, ServerOptions options)
    : provider_(provider), options_(std::move(options)),
      time_(options_.timeSource != nullptr ? options_.timeSource
                                           : &core::RealTimeSource::instance()),
      stats_(storeOf(options_, ownedStats_)), metrics_(*stats_) {}

XdsServer::~XdsServer() {
  shutdown(std::chrono::seconds(1));
}

absl::Status XdsServer::start() {
  if (server_ != nullptr || stopped_) {
    return absl::FailedPreconditionError("xDS server already started");
  }
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.listenAddress, grpc::InsecureServerCredentials(), &port_);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             static_cast<int>(options_.keepaliveTime.count()));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             static_cast<int>(options_.keepaliveTimeout.count()));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             static_cast<int>(options_.minClientPingInterval.count()));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  if (options_.maxConcurrentStreamsPerConnection > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                               options_.maxConcurrentStreamsPerConnection);
  }
  builder.SetMaxReceiveMessageSize(options_.maxReceiveMessageBytes);
  builder.SetMaxSendMessageSize(options_.maxSendMessageBytes);
  services_ = makeDiscoveryServices(*this);
  for (const auto& service : services_) {
    builder.RegisterService(service.get());
  }
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    server_.reset();
    return absl::UnavailableError(
        fmt::format("xDS server cannot listen on {}", options_.listenAddress));
  }
  debouncer_ = std::make_unique<PushDebouncer>(
      options_.debounceQuietPeriod, options_.debounceMaxDelay, *time_, pushLoop_,
      [this](const PushTargets& targets) { runPush(targets); });
  pushThread_ = std::thread([this] { pushLoop_.run(); });
  MESHD_LOG(logger(), info, "xDS server listening on 127.0.0.1:{}", port_);
  return absl::OkStatus();
}

void XdsServer::push() {
  requestPush(PushTargets::everyone());
}

void XdsServer::push(const std::vector<std::string>& node_ids) {
  PushTargets targets;
  targets.nodeIds.insert(node_ids.begin(), node_ids.end());
  requestPush(std::move(targets));
}

void XdsServer::requestPush(PushTargets targets) {
  metrics_.pushRequests.inc();
  pushLoop_.post([this, targets = std::move(targets)] {
    if (debouncer_ != nullptr) {
      debouncer_->request(targets);
    }
  });
}

void XdsServer::runPush(const PushTargets& targets) {
  std::vector<std::shared_ptr<XdsStream>> selected;
  {
    std::lock_guard lock(streamsMutex_);
    for (const auto& [id, registered] : streams_) {
      if (targets.includes(registered.nodeId)) {
        selected.push_back(registered.stream);
      }
    }
  }
  const size_t workers =
      std::clamp<size_t>(options_.pushConcurrency, 1, std::max<size_t>(selected.size(), 1));
  auto refresh_share = [&selected, &targets, workers](size_t first) {
    for (size_t i = first; i < selected.size(); i += workers) {
      selected[i]->refresh(targets.requestedAt);
    }
  };
  std::vector<std::thread> helpers;
  for (size_t worker = 1; worker < workers; ++worker) {
    helpers.emplace_back(refresh_share, worker);
  }
  refresh_share(0);
  for (std::thread& helper : helpers) {
    helper.join();
  }
  // Counted when done, so "pushes went up" means every targeted stream has been refreshed.
  metrics_.pushes.inc();
}

void XdsServer::shutdown(std::chrono::milliseconds grace) {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  if (pushThread_.joinable()) {
    pushLoop_.post([this] {
      debouncer_.reset();
      pushLoop_.stop();
    });
    pushThread_.join();
  }
  std::vector<std::shared_ptr<XdsStream>> open;
  {
    std::lock_guard lock(streamsMutex_);
    for (const auto& [id, registered] : streams_) {
      open.push_back(registered.stream);
    }
  }
  for (const auto& stream : open) {
    stream->close(grpc::Status(grpc::StatusCode::UNAVAILABLE, "xDS server shutting down"));
  }
  open.clear();
  if (server_ != nullptr) {
    // Streams that have not sent a request yet are cancelled at the deadline.
    server_->Shutdown(std::chrono::system_clock::now() + grace);
    server_.reset();
    MESHD_LOG(logger(), info, "xDS server stopped");
  }
}

std::vector<StreamInfo> XdsServer::streams() const {
  std::vector<std::shared_ptr<XdsStream>> open;
  {
    std::lock_guard lock(streamsMutex_);
    for (const auto& [id, registered] : streams_) {
      open.push_back(registered.stream);
    }
  }
  std::vector<StreamInfo> infos;
  infos.reserve(open.size());
  for (const auto& stream : open) {
    infos.push_back(stream->debugInfo());
  }
  return infos;
}

size_t XdsServer::streamCount() const {
  std::lock_guard lock(streamsMutex_);
  return streams_.size();
}

ServerCounters XdsServer::counters() const {
  ServerCounters counters;
  counters.connectedStreams = metrics_.connectedStreams.value();
  counters.streamsOpened = metrics_.streamsOpened.value();
  counters.pushRequests = metrics_.pushRequests.value();
  counters.pushes = metrics_.pushes.value();
  counters.responses = metrics_.responses.value();
  counters.acks = metrics_.acks.value();
  counters.nacks = metrics_.nacks.value();
  counters.staleRequests = metrics_.staleRequests.value();
  counters.propagationSamples = metrics_.configPropagation.snapshot().count;
  return counters;
}

uint64_t XdsServer::newStreamId() {
  return ++nextStreamId_;
}

SnapshotPtr XdsServer::snapshotFor(const envoy::config::core::v3::Node& node) {
  SnapshotPtr snapshot = provider_.snapshotFor(node);
  return snapshot != nullptr ? snapshot : ResourceSnapshotBuilder().build();
}

void XdsServer::streamStarted(uint64_t id, const std::string& node_id,
                              std::shared_ptr<XdsStream> stream) {
  {
    std::lock_guard lock(streamsMutex_);
    streams_[id] = RegisteredStream{node_id, std::move(stream)};
  }
  metrics_.streamsOpened.inc();
  metrics_.connectedStreams.inc();
  MESHD_LOG(logger(), debug, "xDS stream {} opened by node '{}'", id, node_id);
}

void XdsServer::streamEnded(uint64_t id) {
  std::shared_ptr<XdsStream> ended; // released outside the lock
  {
    std::lock_guard lock(streamsMutex_);
    auto it = streams_.find(id);
    if (it == streams_.end()) {
      return;
    }
    ended = std::move(it->second.stream);
    streams_.erase(it);
  }
  metrics_.connectedStreams.dec();
  MESHD_LOG(logger(), debug, "xDS stream {} closed", id);
}

void XdsServer::requestRead(uint64_t id, const std::string& node_id,
                            const RequestOutcome& outcome) {
  switch (outcome.kind) {
  case RequestKind::kAck:
    metrics_.acks.inc();
    if (outcome.propagation.has_value()) {
      metrics_.configPropagation.record(
          std::chrono::duration<double>(*outcome.propagation).count());
    }
    break;
  case RequestKind::kNack:
    metrics_.nacks.inc();
    MESHD_LOG(logger(), warn, "node '{}' rejected {} (nonce {}), keeps version '{}'", node_id,
              outcome.typeUrl, outcome.nonce, outcome.version);
    break;
  case RequestKind::kStale: metrics_.staleRequests.inc(); break;
  case RequestKind::kSubscribe: break;
  }
  if (options_.onRequest) {
    options_.onRequest(RequestEvent{id, &node_id, &outcome});
  }
}

void XdsServer::responseWritten() {
  metrics_.responses.inc();
}

} // namespace meshd::control::xds
