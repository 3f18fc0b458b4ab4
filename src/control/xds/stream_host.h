// The seams between a gRPC stream and the server that owns it: XdsStream is what the server sees
// of a stream (push a refresh, read its state, close it); StreamHost is what a stream needs from
// the server (snapshots, registration, accounting).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "control/xds/resource_snapshot.h"
#include "control/xds/stream_debug.h"
#include "control/xds/stream_state.h"
#include "grpcpp/support/status.h"

namespace meshd::control::xds {

class XdsStream {
public:
  virtual ~XdsStream() = default;
  // Fetches the client's snapshot again and sends what changed; `changed_at` is when the change
  // was requested (for the propagation metric). Any thread.
  virtual void refresh(core::MonotonicTime changed_at) = 0;
  virtual StreamInfo debugInfo() const = 0;
  // Ends the stream with `status` (after the write in flight, if any). Any thread.
  virtual void close(const grpc::Status& status) = 0;
};

class StreamHost {
public:
  virtual ~StreamHost() = default;
  virtual uint64_t newStreamId() = 0;
  virtual const core::TimeSource& timeSource() const = 0;
  virtual SnapshotPtr snapshotFor(const envoy::config::core::v3::Node& node) = 0;
  // After the first request (the node is known) until the stream is done.
  virtual void streamStarted(uint64_t id, const std::string& node_id,
                             std::shared_ptr<XdsStream> stream) = 0;
  virtual void streamEnded(uint64_t id) = 0;
  virtual void requestRead(uint64_t id, const std::string& node_id,
                           const RequestOutcome& outcome) = 0;
  virtual void responseWritten() = 0;
};

} // namespace meshd::control::xds
