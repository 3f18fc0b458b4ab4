// The client's state of one resource type on a delta (incremental) ADS stream: what it subscribes
// to, and the resources it holds with their versions. The proxy's discovery handlers are written
// for state-of-the-world responses, so each delta response is merged with what is held into the
// equivalent full response; only when the handler accepts it does the held set move on.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

#include "envoy/service/discovery/v3/discovery.pb.h"
#include "google/protobuf/any.pb.h"

namespace meshd::proxy::xds {

using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using envoy::service::discovery::v3::DiscoveryResponse;

class DeltaSubscription {
public:
  explicit DeltaSubscription(std::string type_url) : typeUrl_(std::move(type_url)) {}

  // The first request of a stream: what is wanted, and the versions already held so that the
  // server sends only what changed since (after a reconnect).
  DeltaDiscoveryRequest initialRequest() const;
  // Changes what is wanted (wildcard: everything, as CDS and LDS ask). Returns the request that
  // tells the server, or nothing when the subscription is unchanged. Resources no longer wanted
  // are forgotten.
  std::optional<DeltaDiscoveryRequest> resubscribe(std::set<std::string> names, bool wildcard);

  // The state of the world after `response`: every resource held and wanted, with the response's
  // additions and updates applied and its removals taken out.
  DiscoveryResponse merged(const DeltaDiscoveryResponse& response) const;
  // The handler accepted `response`: hold its resources from now on.
  void commit(const DeltaDiscoveryResponse& response);

  bool wildcard() const { return wildcard_; }
  const std::set<std::string>& names() const { return names_; }
  size_t heldCount() const { return held_.size(); }

private:
  struct Held {
    std::string version;
    google::protobuf::Any resource;
  };
  bool wanted(const std::string& name) const { return wildcard_ || names_.contains(name); }

  std::string typeUrl_;
  std::set<std::string> names_;
  bool wildcard_ = false;
  bool subscribed_ = false; // resubscribe() was called at least once
  std::map<std::string, Held> held_;
};

} // namespace meshd::proxy::xds
