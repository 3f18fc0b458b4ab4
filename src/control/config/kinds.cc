// The table of kinds (kinds.h).
#include "control/config/kinds.h"

#include <algorithm>
#include <cctype>

namespace meshd::control::config {

const std::vector<KindInfo>& knownKinds() {
  static const std::vector<KindInfo> kKinds = {
      {"VirtualService",
       "networking.istio.io",
       {"v1", "v1beta1", "v1alpha3"},
       true,
       "virtualservices"},
      {"DestinationRule",
       "networking.istio.io",
       {"v1", "v1beta1", "v1alpha3"},
       true,
       "destinationrules"},
      {"Gateway", "networking.istio.io", {"v1", "v1beta1", "v1alpha3"}, true, "gateways"},
      {"ServiceEntry",
       "networking.istio.io",
       {"v1", "v1beta1", "v1alpha3"},
       true,
       "serviceentries"},
      {"Sidecar", "networking.istio.io", {"v1", "v1beta1", "v1alpha3"}, true, "sidecars"},
      {"WorkloadEntry",
       "networking.istio.io",
       {"v1", "v1beta1", "v1alpha3"},
       true,
       "workloadentries"},
      {"WorkloadGroup",
       "networking.istio.io",
       {"v1", "v1beta1", "v1alpha3"},
       true,
       "workloadgroups"},
      {"PeerAuthentication", "security.istio.io", {"v1", "v1beta1"}, true, "peerauthentications"},
      {"AuthorizationPolicy",
       "security.istio.io",
       {"v1", "v1beta1"},
       true,
       "authorizationpolicies"},
      {"RequestAuthentication",
       "security.istio.io",
       {"v1", "v1beta1"},
       true,
       "requestauthentications"},
      {"Telemetry", "telemetry.istio.io", {"v1", "v1alpha1"}, true, "telemetries"},
      {"Service", "", {"v1"}, true, "services"},
      {"Namespace", "", {"v1"}, false, "namespaces"},
      // meshd's own: a process that meshctl runs with a sidecar (docs/config.md).
      {"LocalWorkload", "meshd.io", {"v1alpha1"}, true, "localworkloads"},
  };
  return kKinds;
}

namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

} // namespace

const KindInfo* findKind(std::string_view kindOrPlural) {
  for (const KindInfo& info : knownKinds()) {
    if (equalsIgnoreCase(info.kind, kindOrPlural) || equalsIgnoreCase(info.plural, kindOrPlural)) {
      return &info;
    }
  }
  return nullptr;
}

} // namespace meshd::control::config
