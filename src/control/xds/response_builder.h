// Pure functions that compare a type's snapshot resources with what a client holds and build the
// next state-of-the-world or delta response, updating TypeState (held resources, state hash).
// No I/O, no locks.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "control/xds/resource_snapshot.h"
#include "control/xds/type_state.h"
#include "envoy/service/discovery/v3/discovery.pb.h"

namespace meshd::control::xds {

// `resources`: the type's current map (may be null). `changes`: when not null, the state was last
// compared against `changes->from` with the same subscription, and only `changes->names` can
// differ — the comparison then costs O(changed names) instead of O(subscribed resources).

// Fills `response` (all fields but the nonce) and returns true when the client needs one:
// a subscribed resource changed or appeared, a full-state type lost a resource, or `force`.
// Full-state types (listeners, clusters) carry every subscribed resource; others only the
// changed ones.
bool buildSotwResponse(TypeState& state, const ResourceMap* resources, const TypeChanges* changes,
                       bool force, envoy::service::discovery::v3::DiscoveryResponse* response);

// Fills `response` (all fields but the nonce) with the subscribed resources the client does not
// hold at their current version and the held ones that no longer exist; false when both are empty
// and not `force`.
bool buildDeltaResponse(TypeState& state, const ResourceMap* resources, const TypeChanges* changes,
                        bool force,
                        envoy::service::discovery::v3::DeltaDiscoveryResponse* response);

// The version_info a state-of-the-world response would carry for this subscription (every
// resource when `wildcard`, else the listed `names`) of `resources` (may be null): what a client
// that is up to date has ACKed. Debug endpoints compare it with the ACKed version.
std::string subscriptionVersion(const ResourceMap* resources, bool wildcard,
                                const std::vector<std::string>& names);

// Whether a client holding `held` (name → version) has every resource of its subscription at the
// version in `resources`. A subscribed name that is not in `resources` does not count: SotW EDS
// and RDS cannot say a resource is gone, so the client keeps it until nothing refers to it. This
// is the verdict when the subscription changed without a response (the remaining resources were
// already held), which leaves the client's last ACKed version naming its former subscription.
bool holdsSubscription(const ResourceMap* resources, bool wildcard,
                       const std::vector<std::string>& names,
                       const std::map<std::string, std::string>& held);

} // namespace meshd::control::xds
