// DeltaSubscription (delta_subscription.h).
#include "proxy/xds/delta_subscription.h"

namespace meshd::proxy::xds {

DeltaDiscoveryRequest DeltaSubscription::initialRequest() const {
  DeltaDiscoveryRequest request;
  request.set_type_url(typeUrl_);
  // A wildcard subscription is an empty first request (the legacy form every server knows).
  for (const auto& name : names_) {
    request.add_resource_names_subscribe(name);
  }
  for (const auto& [name, held] : held_) {
    (*request.mutable_initial_resource_versions())[name] = held.version;
  }
  return request;
}

std::optional<DeltaDiscoveryRequest> DeltaSubscription::resubscribe(std::set<std::string> names,
                                                                    bool wildcard) {
  if (subscribed_ && names == names_ && wildcard == wildcard_) {
    return std::nullopt;
  }
  DeltaDiscoveryRequest request;
  request.set_type_url(typeUrl_);
  if (wildcard && !wildcard_) {
    request.add_resource_names_subscribe("*");
  }
  if (!wildcard && wildcard_) {
    request.add_resource_names_unsubscribe("*");
  }
  for (const auto& name : names) {
    if (!names_.contains(name)) {
      request.add_resource_names_subscribe(name);
    }
  }
  for (const auto& name : names_) {
    if (!names.contains(name)) {
      request.add_resource_names_unsubscribe(name);
    }
  }
  names_ = std::move(names);
  wildcard_ = wildcard;
  subscribed_ = true;
  std::erase_if(held_, [this](const auto& entry) { return !wanted(entry.first); });
  return request;
}

DiscoveryResponse DeltaSubscription::merged(const DeltaDiscoveryResponse& response) const {
  std::map<std::string, const google::protobuf::Any*> state;
  for (const auto& [name, held] : held_) {
    state[name] = &held.resource;
  }
  for (const auto& removed : response.removed_resources()) {
    state.erase(removed);
  }
  for (const auto& resource : response.resources()) {
    if (resource.has_resource() && wanted(resource.name())) {
      state[resource.name()] = &resource.resource();
    }
  }
  DiscoveryResponse out;
  out.set_type_url(typeUrl_);
  out.set_version_info(response.system_version_info().empty() ? response.nonce()
                                                              : response.system_version_info());
  out.set_nonce(response.nonce());
  for (const auto& [name, any] : state) {
    *out.add_resources() = *any;
  }
  return out;
}

void DeltaSubscription::commit(const DeltaDiscoveryResponse& response) {
  for (const auto& removed : response.removed_resources()) {
    held_.erase(removed);
  }
  for (const auto& resource : response.resources()) {
    if (resource.has_resource() && wanted(resource.name())) {
      held_[resource.name()] = Held{resource.version(), resource.resource()};
    }
  }
}

} // namespace meshd::proxy::xds
