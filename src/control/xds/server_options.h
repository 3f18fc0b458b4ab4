// ServerOptions: how the xDS server listens, debounces pushes and treats its connections.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "control/xds/stream_state.h"
#include "core/time_source.h"

namespace meshd::stats {
class Store;
}

namespace meshd::control::xds {

// A request the server has read, for observers (the control plane's propagation metric, benches).
struct RequestEvent {
  uint64_t streamId = 0;
  const std::string* nodeId = nullptr;
  const RequestOutcome* outcome = nullptr;
};

struct ServerOptions {
  // host:port; port 0 picks a free one (XdsServer::port()).
  std::string listenAddress = "127.0.0.1:0";

  // Pushes requested within the quiet period of each other are merged into one; a push is never
  // delayed more than maxDelay after the first request it merges. Zero quiet period: no debounce.
  std::chrono::milliseconds debounceQuietPeriod{100};
  std::chrono::milliseconds debounceMaxDelay{1000};
  // Threads computing responses for the streams of one push.
  uint32_t pushConcurrency = 2;

  // HTTP/2 keepalive pings from the server, and how often clients may ping.
  std::chrono::milliseconds keepaliveTime{30000};
  std::chrono::milliseconds keepaliveTimeout{10000};
  std::chrono::milliseconds minClientPingInterval{10000};
  // gRPC message size limits; a response larger than maxSendMessageBytes fails its stream.
  int maxReceiveMessageBytes = 4 * 1024 * 1024;
  int maxSendMessageBytes = 64 * 1024 * 1024;
  // Concurrent streams per HTTP/2 connection (0 keeps gRPC's default).
  int maxConcurrentStreamsPerConnection = 0;

  // Timestamps in the debug state and debounce timing; null means the real clock.
  const core::TimeSource* timeSource = nullptr;
  // Where the server's counters go; null: a store owned by the server.
  stats::Store* stats = nullptr;
  // Called on a gRPC thread for every request after it was applied (no lock held). Keep it cheap.
  std::function<void(const RequestEvent&)> onRequest;
};

} // namespace meshd::control::xds
