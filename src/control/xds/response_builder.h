// Pure functions that compare a type's snapshot resources with what a client holds and build the
// next state-of-the-world or delta response, updating TypeState::held. No I/O, no locks.
#pragma once

#include "control/xds/resource_snapshot.h"
#include "control/xds/type_state.h"
#include "envoy/service/discovery/v3/discovery.pb.h"

namespace meshd::control::xds {

// Fills `response` (all fields but the nonce) and returns true when the client needs one:
// a subscribed resource changed or appeared, a full-state type lost a resource, or `force`.
// Full-state types (listeners, clusters) carry every subscribed resource; others only the
// changed ones. `resources` may be null (the snapshot has none of the type).
bool buildSotwResponse(TypeState& state, const ResourceMap* resources, bool force,
                       envoy::service::discovery::v3::DiscoveryResponse* response);

// Fills `response` (all fields but the nonce) with the subscribed resources the client does not
// hold at their current version and the held ones that no longer exist; false when both are empty.
bool buildDeltaResponse(TypeState& state, const ResourceMap* resources,
                        envoy::service::discovery::v3::DeltaDiscoveryResponse* response);

} // namespace meshd::control::xds
