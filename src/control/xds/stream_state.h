// StreamState: everything one xDS stream (SotW or delta) knows about its client — node, snapshot,
// per-type subscription and ACK/NACK bookkeeping — and the logic that turns requests and new
// snapshots into the next response to send. Not thread-safe: the owning stream serialises calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "control/xds/resource_snapshot.h"
#include "control/xds/stream_debug.h"
#include "control/xds/type_state.h"
#include "core/time_source.h"
#include "envoy/service/discovery/v3/discovery.pb.h"

namespace meshd::control::xds {

// How the server read a request.
enum class RequestKind {
  kSubscribe, // no nonce (or none sent yet for the type): a new or changed subscription
  kAck,
  kNack,
  kStale, // answers an older response than the last one sent: ignored (SotW)
};

struct RequestOutcome {
  RequestKind kind = RequestKind::kSubscribe;
  std::string typeUrl;
  std::string version; // version_info of the ACK/NACK
  std::string nonce;
  // For an ACK of a response that carried a pushed change: time from the push request to the ACK.
  std::optional<std::chrono::nanoseconds> propagation;
};

class StreamState {
public:
  StreamState(uint64_t id, bool delta, const core::TimeSource& time);

  uint64_t id() const { return id_; }
  bool delta() const { return delta_; }
  bool hasNode() const { return hasNode_; }
  const envoy::config::core::v3::Node& node() const { return node_; }

  // Records the node of the first request that carries one. False if there is none yet.
  bool takeNode(const envoy::config::core::v3::Node& node);

  // `fixed_type_url`: the type of a per-type service (LDS, CDS, ...), used when a request leaves
  // type_url empty; empty for ADS. InvalidArgument for a request of another or no type.
  absl::StatusOr<RequestOutcome>
  onSotwRequest(const envoy::service::discovery::v3::DiscoveryRequest& request,
                const std::string& fixed_type_url);
  absl::StatusOr<RequestOutcome>
  onDeltaRequest(const envoy::service::discovery::v3::DeltaDiscoveryRequest& request,
                 const std::string& fixed_type_url);

  // A new snapshot for this client: types whose resources changed are compared again.
  // `changed_at`: when the change was requested, if it comes from a push.
  void setSnapshot(SnapshotPtr snapshot,
                   std::optional<core::MonotonicTime> changed_at = std::nullopt);
  const SnapshotPtr& snapshot() const { return snapshot_; }

  // The next response to send, if any (one type per response, in push order); sets its nonce.
  bool nextSotwResponse(envoy::service::discovery::v3::DiscoveryResponse* response);
  bool nextDeltaResponse(envoy::service::discovery::v3::DeltaDiscoveryResponse* response);
  // True when some type may have a response to send.
  bool anyDirty() const;

  StreamInfo debugInfo() const;

private:
  absl::StatusOr<std::string> resolveType(const std::string& request_type,
                                          const std::string& fixed_type_url) const;
  TypeState& typeState(const std::string& type_url);
  // Classifies a request's nonce and records ACK/NACK.
  RequestOutcome acknowledge(TypeState& state, const std::string& nonce, const std::string& version,
                             const google::rpc::Status* error);
  TypeState* nextDirty();
  // Bookkeeping once a response for `state` was built: its nonce, the change it carries.
  void responseBuilt(TypeState& state, std::string* nonce);
  // Takes the snapshot's map of the type for comparison; returns its changes when comparing
  // only those is enough (the state was compared against their base map with the same
  // subscription), else null.
  const TypeChanges* beginComparison(TypeState& state);
  std::string nextNonce() { return std::to_string(++nonceCounter_); }

  const uint64_t id_;
  const bool delta_;
  const core::TimeSource& time_;
  const core::SystemTime connectedAt_;
  bool hasNode_ = false;
  envoy::config::core::v3::Node node_;
  SnapshotPtr snapshot_;
  std::map<std::string, TypeState> types_;
  uint64_t nonceCounter_ = 0;
};

} // namespace meshd::control::xds
