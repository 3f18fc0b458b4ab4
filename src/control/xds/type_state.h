// TypeState: one stream's state for one resource type — subscription, what the client holds, and
// the version/nonce/ACK/NACK bookkeeping.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "control/xds/held_resources.h"
#include "control/xds/resource_snapshot.h"
#include "control/xds/stream_debug.h"
#include "control/xds/subscription.h"
#include "control/xds/type_urls.h"
#include "core/time_source.h"

namespace meshd::control::xds {

struct TypeState {
  explicit TypeState(std::string type_url)
      : typeUrl(std::move(type_url)), subscription(isFullStateType(typeUrl)) {}

  std::string typeUrl;
  Subscription subscription;
  // What the client holds as far as the server knows: name → resource (and so version) sent.
  // NACKed responses are not rolled back: the client is sent a resource again only when it changes.
  HeldResources held;
  // The snapshot's map for this type at the last comparison (kept so pointer equality is sound).
  ResourceMapPtr comparedMap;
  bool compared = false;
  // Order-independent hash of the (name, version) pairs the client should hold after the last
  // comparison: the response's version_info, kept so the fast path can update it.
  uint64_t stateHash = 0;
  // The subscription or the held set changed other than by a comparison: the next comparison
  // must look at every subscribed resource, not only at a snapshot's changed names.
  bool needsFullCompare = true;
  // The subscription changed or a new snapshot arrived: compare again.
  bool dirty = false;
  // Send a SotW response even if no resource changed (first request, or a changed subscription of
  // a full-state type: the client learns which names do not exist).
  bool forceResponse = false;
  bool responded = false;

  std::string lastVersionSent;
  std::string lastNonceSent;
  std::string lastAckedVersion;
  std::optional<NackInfo> lastNack;
  uint64_t acks = 0;
  uint64_t nacks = 0;
  // When the earliest pushed change not yet sent was requested, and the same for the response
  // awaiting its ACK (config propagation metric).
  std::optional<core::MonotonicTime> changePendingSince;
  std::optional<core::MonotonicTime> changeInFlightSince;
};

} // namespace meshd::control::xds
