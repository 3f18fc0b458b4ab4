// Subscription update rules (see subscription.h).
#include "control/xds/subscription.h"

#include <algorithm>

#include "control/xds/type_urls.h"

namespace meshd::control::xds {

bool Subscription::applySotw(const NameList& names) {
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
