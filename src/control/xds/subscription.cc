// Subscription update rules (see subscription.h).
#include "control/xds/subscription.h"

#include <algorithm>

#include "control/xds/type_urls.h"
#include "control/xds/version_hash.h"

namespace meshd::control::xds {

namespace {

// Hash of a name list in order (with separators), to recognise a list sent again.
uint64_t listHash(const NameList& names) {
  uint64_t hash = fnv1a64("");
  for (const std::string& name : names) {
    hash = fnv1a64(name, hash);
    hash = fnv1a64(std::string_view("\0", 1), hash);
  }
  return hash;
}

} // namespace

bool Subscription::sameAs(const NameList& names, uint64_t list_hash) const {
  // ACKs repeat the whole list: recognise an unchanged one without building a new set. Equal
  // hashes of the list and equal sizes of the sets with containment: only a list with repeated
  // names whose hash collides with the previous list's could fool it.
  if (list_hash != lastListHash_) {
    return false;
  }
  size_t explicit_count = 0;
  bool star = false;
  for (const std::string& name : names) {
    if (name == kWildcardName) {
      star = true;
    } else if (!names_.contains(name)) {
      return false;
    } else {
      ++explicit_count;
    }
  }
  bool wildcard = star || (names.empty() && wildcardCapable_ && !everNamed_);
  return wildcard == wildcard_ && explicit_count == names_.size();
}

bool Subscription::applySotw(const NameList& names) {
  const uint64_t list_hash = listHash(names);
  if (seenRequest_ && sameAs(names, list_hash)) {
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
