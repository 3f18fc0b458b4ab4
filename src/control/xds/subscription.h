// Subscription: which resources of one type a stream asked for — wildcard, explicit names, or
// both — with the state-of-the-world and the incremental (delta) update rules of the xDS protocol.
//
// SotW: every request carries the full list. For wildcard-capable types (listeners, clusters) an
// empty list from a client that never named a resource is the legacy wildcard; "*" asks for the
// wildcard explicitly (alongside names). Otherwise an empty list means "nothing": that is how
// grpc-js-xds unsubscribes the last name of a type.
// Delta: names are added and removed; "*" in either list turns the wildcard on or off, and a
// first request with no names for a wildcard-capable type is the legacy wildcard.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace meshd::control::xds {

using NameList = google::protobuf::RepeatedPtrField<std::string>;

class Subscription {
public:
  explicit Subscription(bool wildcard_capable) : wildcardCapable_(wildcard_capable) {}

  // Replaces the subscription with a SotW request's list. True when it changed.
  bool applySotw(const NameList& names);
  // Applies a delta request's changes. True when it changed.
  bool applyDelta(const NameList& subscribe, const NameList& unsubscribe);

  bool wildcard() const { return wildcard_; }
  const absl::flat_hash_set<std::string>& names() const { return names_; }
  bool wants(const std::string& name) const { return wildcard_ || names_.contains(name); }
  bool empty() const { return !wildcard_ && names_.empty(); }
  // Explicit names, sorted (for debug output).
  std::vector<std::string> sortedNames() const;

private:
  bool wildcardCapable_;
  bool wildcard_ = false;
  // Once a client has named resources, an empty list no longer means the legacy wildcard.
  bool everNamed_ = false;
  bool seenRequest_ = false;
  uint64_t lastListHash_ = 0; // of the last SotW list applied
  absl::flat_hash_set<std::string> names_;
};

} // namespace meshd::control::xds
