// Subscription update rules (see subscription.h).
#include "control/xds/subscription.h"

#include <algorithm>

#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"

#include "control/xds/type_urls.h"

namespace meshd::control::xds {

namespace {

// Hash of a name list, in order, to recognise a list sent again: every SotW ACK repeats the
// client's whole list (1,000 names for a sidecar's endpoints), and comparing it name by name
// against the set was a large part of the server's CPU per push. absl::Hash is seeded per
// process, which is fine: this hash is never stored or sent.
uint64_t listHash(const NameList& names) {
  uint64_t hash = static_cast<uint64_t>(names.size());
  for (const std::string& name : names) {
    hash = hash * 0x9e3779b97f4a7c15ULL +
           absl::Hash<absl::string_view>{}(absl::string_view(name.data(), name.size()));
  }
  return hash;
}

} // namespace

bool Subscription::applySotw(const NameList& names) {
  // The same list as last time (same names, same order) gives the same subscription. A
  // different list whose 64-bit hash collides with the last one would be missed.
  const uint64_t list_hash = listHash(names);
  if (seenRequest_ && list_hash == lastListHash_) {
    return false;
  }
  lastListHash_ = list_hash;
  bool wildcard = false;
  absl::flat_hash_set<std::string> explicit_names;
  for (const std::string& name : names) {
    if (name == kWildcardName) {
      wildcard = true;
    } else {
      explicit_names.insert(name);
    }
  }
  if (names.empty() && wildcardCapable_ && !everNamed_) {
    wildcard = true;
  }
  everNamed_ = everNamed_ || !names.empty();
  seenRequest_ = true;
  bool changed = wildcard != wildcard_ || explicit_names != names_;
  wildcard_ = wildcard;
  names_ = std::move(explicit_names);
  return changed;
}

bool Subscription::applyDelta(const NameList& subscribe, const NameList& unsubscribe) {
  bool changed = false;
  if (!seenRequest_ && subscribe.empty() && wildcardCapable_) {
    wildcard_ = true;
    changed = true;
  }
  seenRequest_ = true;
  for (const std::string& name : subscribe) {
    if (name == kWildcardName) {
      changed = changed || !wildcard_;
      wildcard_ = true;
    } else {
      changed = names_.insert(name).second || changed;
    }
  }
  for (const std::string& name : unsubscribe) {
    if (name == kWildcardName) {
      changed = changed || wildcard_;
      wildcard_ = false;
    } else {
      changed = names_.erase(name) > 0 || changed;
    }
  }
  return changed;
}

std::vector<std::string> Subscription::sortedNames() const {
  std::vector<std::string> sorted(names_.begin(), names_.end());
  std::sort(sorted.begin(), sorted.end());
  return sorted;
}

} // namespace meshd::control::xds
