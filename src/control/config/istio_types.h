// Every typed kind in one place: the variant the translator and registry switch on, and the
// dispatcher that parses a ConfigObject into the right one by kind.
#pragma once

#include <optional>
#include <variant>
#include <vector>

#include "control/config/config_object.h"
#include "control/config/diagnostic.h"
#include "control/config/kube/service.h"
#include "control/config/local_workload.h"
#include "control/config/networking/destination_rule.h"
#include "control/config/networking/gateway.h"
#include "control/config/networking/service_entry.h"
#include "control/config/networking/sidecar.h"
#include "control/config/networking/virtual_service.h"
#include "control/config/networking/workload_entry.h"
#include "control/config/security/authorization_policy.h"
#include "control/config/security/peer_authentication.h"
#include "control/config/security/request_authentication.h"
#include "control/config/telemetry/telemetry.h"

namespace meshd::control::config {

using TypedObject =
    std::variant<VirtualService, DestinationRule, Gateway, ServiceEntry, Sidecar,
                 WorkloadEntryObject, WorkloadGroup, PeerAuthentication, AuthorizationPolicy,
                 RequestAuthentication, Telemetry, KubeService, KubeNamespace, LocalWorkload>;

// Parses `object` by its kind, reporting into `out`; nullopt when it has errors (or a kind this
// build does not know, which the object parser already refuses).
std::optional<TypedObject> parseTyped(const ConfigObject& object, std::vector<Diagnostic>& out);

} // namespace meshd::control::config
