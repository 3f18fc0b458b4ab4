// Istio WorkloadEntry (a VM or other non-Kubernetes workload; also the shape of a ServiceEntry
// endpoint) and WorkloadGroup (the template for WorkloadEntries that register themselves).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "control/config/common.h"
#include "control/config/config_object.h"
#include "control/config/diagnostic.h"
#include "control/config/json_reader.h"

namespace meshd::control::config {

// Istio accepts unix socket endpoints (unix:///path); mesh-proxy has TCP upstreams only, so a proxy
// that sees one refuses the endpoint update carrying it. Said at apply time, not found in a NACK.
inline constexpr const char* kUnixEndpointWarning =
    "mesh-proxy does not connect to unix sockets yet: proxies that see this endpoint reject the "
    "endpoint update that carries it (NACK)";

struct WorkloadEntry {
  std::string address;                   // IP, host name (DNS resolution) or "unix:///path"
  std::map<std::string, uint32_t> ports; // service port name → workload port
  Labels labels;
  std::string network;
  std::string locality; // "region/zone/subzone"
  uint32_t weight = 0;  // 0 = unset
  std::string serviceAccount;
};

struct WorkloadEntryObject {
  ObjectMeta meta;
  WorkloadEntry spec;
};

struct HttpHealthCheck {
  std::string path;
  uint32_t port = 0;
  std::string host;
  std::string scheme; // "HTTP" or "HTTPS"
  std::vector<std::pair<std::string, std::string>> headers;
};
struct TcpHealthCheck {
  std::string host;
  uint32_t port = 0;
};
struct ExecHealthCheck {
  std::vector<std::string> command;
};
struct GrpcHealthCheck {
  uint32_t port = 0;
  std::string service;
};

struct ReadinessProbe {
  int32_t initialDelaySeconds = 0;
  int32_t timeoutSeconds = 1;
  int32_t periodSeconds = 10;
  int32_t successThreshold = 1;
  int32_t failureThreshold = 3;
  std::variant<HttpHealthCheck, TcpHealthCheck, ExecHealthCheck, GrpcHealthCheck> check;
};

struct WorkloadGroup {
  ObjectMeta meta;
  Labels templateLabels;                                  // spec.metadata.labels
  std::map<std::string, std::string> templateAnnotations; // spec.metadata.annotations
  WorkloadEntry entryTemplate;                            // spec.template (no address)
  std::optional<ReadinessProbe> probe;
};

// `kind` says which checks apply: a standalone WorkloadEntry needs an address, a ServiceEntry
// endpoint's address depends on the resolution (checked by the ServiceEntry), a WorkloadGroup
// template must not have one.
enum class WorkloadEntryUse { kStandalone, kServiceEntryEndpoint, kGroupTemplate };
std::optional<WorkloadEntry> readWorkloadEntry(ReadContext& ctx, const nlohmann::json& value,
                                               const std::string& pointer, WorkloadEntryUse use);

std::optional<WorkloadEntryObject> parseWorkloadEntry(const ConfigObject& object,
                                                      std::vector<Diagnostic>& out);
std::optional<WorkloadGroup> parseWorkloadGroup(const ConfigObject& object,
                                                std::vector<Diagnostic>& out);

} // namespace meshd::control::config
