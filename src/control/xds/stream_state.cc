// StreamState: requests and snapshots in, responses out (see stream_state.h).
#include "control/xds/stream_state.h"

#include <algorithm>

#include "control/xds/response_builder.h"
#include "core/status.h"

namespace meshd::control::xds {

StreamState::StreamState(uint64_t id, bool delta, const core::TimeSource& time)
    : id_(id), delta_(delta), time_(time), connectedAt_(time.systemNow()) {}

bool StreamState::takeNode(const envoy::config::core::v3::Node& node) {
  if (!hasNode_ && (!node.id().empty() || node.ByteSizeLong() > 0)) {
    node_ = node;
    hasNode_ = true;
  }
  return hasNode_;
}

absl::StatusOr<std::string> StreamState::resolveType(const std::string& request_type,
                                                     const std::string& fixed_type_url) const {
  if (fixed_type_url.empty()) {
    if (request_type.empty()) {
      return absl::InvalidArgumentError("an aggregated discovery request must set type_url");
    }
    return request_type;
  }
  if (!request_type.empty() && request_type != fixed_type_url) {
    return absl::InvalidArgumentError(
        fmt::format("type_url {} on a stream for {}", request_type, fixed_type_url));
  }
  return fixed_type_url;
}

TypeState& StreamState::typeState(const std::string& type_url) {
  auto it = types_.find(type_url);
  if (it == types_.end()) {
    it = types_.emplace(type_url, TypeState(type_url)).first;
  }
  return it->second;
}

RequestOutcome StreamState::acknowledge(TypeState& state, const std::string& nonce,
                                        const std::string& version,
                                        const google::rpc::Status* error) {
  RequestOutcome outcome{RequestKind::kSubscribe, state.typeUrl, version, nonce};
  if (nonce.empty() || state.lastNonceSent.empty()) {
    return outcome;
  }
  if (nonce != state.lastNonceSent) {
    outcome.kind = RequestKind::kStale;
    return outcome;
  }
  if (error != nullptr) {
    outcome.kind = RequestKind::kNack;
    ++state.nacks;
    state.lastNack = NackInfo{version, nonce, error->message(), error->code(), time_.systemNow()};
  } else {
    outcome.kind = RequestKind::kAck;
    ++state.acks;
    state.lastAckedVersion = version;
    if (state.changeInFlightSince.has_value()) {
      outcome.propagation = time_.monotonicNow() - *state.changeInFlightSince;
    }
  }
  state.changeInFlightSince.reset();
  return outcome;
}

absl::StatusOr<RequestOutcome>
StreamState::onSotwRequest(const envoy::service::discovery::v3::DiscoveryRequest& request,
                           const std::string& fixed_type_url) {
  ASSIGN_OR_RETURN(std::string type_url, resolveType(request.type_url(), fixed_type_url));
  TypeState& state = typeState(type_url);
  RequestOutcome outcome =
      acknowledge(state, request.response_nonce(), request.version_info(),
                  request.has_error_detail() ? &request.error_detail() : nullptr);
  if (outcome.kind == RequestKind::kStale) {
    // A newer response is on its way; the client repeats its full list when it answers that one.
    return outcome;
  }
  bool changed = state.subscription.applySotw(request.resource_names());
  if (changed || !state.responded) {
    state.dirty = true;
    state.needsFullCompare = true;
    if (isFullStateType(type_url) && (changed || !state.subscription.empty())) {
      state.forceResponse = true;
    }
  }
  return outcome;
}

absl::StatusOr<RequestOutcome>
StreamState::onDeltaRequest(const envoy::service::discovery::v3::DeltaDiscoveryRequest& request,
                            const std::string& fixed_type_url) {
  ASSIGN_OR_RETURN(std::string type_url, resolveType(request.type_url(), fixed_type_url));
  TypeState& state = typeState(type_url);
  // A reconnecting client says what it holds, so unchanged resources are not sent again.
  for (const auto& [name, version] : request.initial_resource_versions()) {
    ResourcePtr current = snapshot_ ? snapshot_->find(type_url, name) : nullptr;
    if (current != nullptr && current->version == version) {
      state.held.put(current);
    } else {
      auto claimed = std::make_shared<Resource>();
      claimed->name = name;
      claimed->version = version;
      state.held.put(std::move(claimed));
    }
    state.dirty = true;
    state.needsFullCompare = true;
  }
  // The version a delta client acknowledges is the one sent with the nonce it answers.
  std::string acked_version =
      request.has_error_detail() ? state.lastAckedVersion : state.lastVersionSent;
  RequestOutcome outcome =
      acknowledge(state, request.response_nonce(), acked_version,
                  request.has_error_detail() ? &request.error_detail() : nullptr);
  // Delta subscription changes are increments: they apply even with a stale nonce.
  bool changed = state.subscription.applyDelta(request.resource_names_subscribe(),
                                               request.resource_names_unsubscribe());
  if (changed) {
    state.dirty = true;
    state.needsFullCompare = true;
  }
  // As go-control-plane and Istio: the first wildcard request is answered even when there is
  // nothing to send, so that the client's initialization does not wait for a timeout.
  if (!state.responded && state.subscription.wildcard() && state.lastNonceSent.empty()) {
    state.dirty = true;
    state.forceResponse = true;
  }
  return outcome;
}

void StreamState::setSnapshot(SnapshotPtr snapshot, std::optional<core::MonotonicTime> changed_at) {
  snapshot_ = std::move(snapshot);
  for (auto& [type_url, state] : types_) {
    ResourceMapPtr current = snapshot_ ? snapshot_->resourceMap(type_url) : nullptr;
    if (!state.compared || current != state.comparedMap) {
      state.dirty = true;
      if (changed_at.has_value() && !state.changePendingSince.has_value()) {
        state.changePendingSince = changed_at;
      }
    }
  }
}

void StreamState::responseBuilt(TypeState& state, std::string* nonce) {
  state.lastNonceSent = nextNonce();
  state.responded = true;
  state.changeInFlightSince = state.changePendingSince;
  state.changePendingSince.reset();
  *nonce = state.lastNonceSent;
}

TypeState* StreamState::nextDirty() {
  TypeState* next = nullptr;
  for (auto& [type_url, state] : types_) {
    if (state.dirty && (next == nullptr || pushOrder(type_url) < pushOrder(next->typeUrl))) {
      next = &state;
    }
  }
  return next;
}

bool StreamState::anyDirty() const {
  for (const auto& [type_url, state] : types_) {
    if (state.dirty) {
      return true;
    }
  }
  return false;
}

const TypeChanges* StreamState::beginComparison(TypeState& state) {
  state.dirty = false;
  ResourceMapPtr current = snapshot_ ? snapshot_->resourceMap(state.typeUrl) : nullptr;
  const TypeChanges* changes = snapshot_ ? snapshot_->changes(state.typeUrl) : nullptr;
  bool only_changes = changes != nullptr && !state.needsFullCompare && state.compared &&
                      changes->from == state.comparedMap;
  state.comparedMap = std::move(current);
  state.compared = true;
  return only_changes ? changes : nullptr;
}

bool StreamState::nextSotwResponse(envoy::service::discovery::v3::DiscoveryResponse* response) {
  while (TypeState* state = nextDirty()) {
    bool force = state->forceResponse;
    state->forceResponse = false;
    state->needsFullCompare = state->needsFullCompare || force;
    const TypeChanges* changes = beginComparison(*state);
    if (buildSotwResponse(*state, state->comparedMap.get(), changes, force, response)) {
      responseBuilt(*state, response->mutable_nonce());
      return true;
    }
  }
  return false;
}

bool StreamState::nextDeltaResponse(
    envoy::service::discovery::v3::DeltaDiscoveryResponse* response) {
  while (TypeState* state = nextDirty()) {
    const bool force = state->forceResponse;
    state->forceResponse = false;
    const TypeChanges* changes = beginComparison(*state);
    if (buildDeltaResponse(*state, state->comparedMap.get(), changes, force, response)) {
      responseBuilt(*state, response->mutable_nonce());
      return true;
    }
  }
  return false;
}

StreamInfo StreamState::debugInfo() const {
  StreamInfo info;
  info.id = id_;
  info.delta = delta_;
  info.node = node_;
  info.connectedAt = connectedAt_;
  for (const auto& [type_url, state] : types_) {
    TypeInfo type;
    type.typeUrl = type_url;
    type.wildcard = state.subscription.wildcard();
    type.names = state.subscription.sortedNames();
    type.lastVersionSent = state.lastVersionSent;
    type.lastNonceSent = state.lastNonceSent;
    type.lastAckedVersion = state.lastAckedVersion;
    type.lastNack = state.lastNack;
    type.acks = state.acks;
    type.nacks = state.nacks;
    type.resourcesHeld = state.held.size();
    state.held.forEach(
        [&type](const Resource& resource) { type.heldVersions[resource.name] = resource.version; });
    info.types.push_back(std::move(type));
  }
  std::stable_sort(info.types.begin(), info.types.end(), [](const TypeInfo& a, const TypeInfo& b) {
    return pushOrder(a.typeUrl) < pushOrder(b.typeUrl);
  });
  return info;
}

} // namespace meshd::control::xds
