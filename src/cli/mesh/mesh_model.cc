// Local mesh model: workloads, cluster IPs, hosts files, bootstraps (mesh_model.h).
#include "cli/mesh/mesh_model.h"

#include <algorithm>

#include "fmt/format.h"

namespace meshd::cli::mesh {
namespace {

std::map<std::string, std::string> stringMap(const nlohmann::json& value) {
  std::map<std::string, std::string> out;
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      out[key] = item.is_string() ? item.get<std::string>() : item.dump();
    }
  }
  return out;
}

std::string stringOr(const nlohmann::json& object, const char* key, std::string fallback) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

} // namespace

std::vector<WorkloadSpec> workloadsFromList(const nlohmann::json& list) {
  std::vector<WorkloadSpec> out;
  if (!list.is_object() || !list.contains("items") || !list["items"].is_array()) {
    return out;
  }
  for (const nlohmann::json& item : list["items"]) {
    if (!item.is_object() || !item.contains("metadata") || !item.contains("spec")) {
      continue;
    }
    const nlohmann::json& meta = item["metadata"];
    const nlohmann::json& spec = item["spec"];
    WorkloadSpec workload;
    workload.ns = stringOr(meta, "namespace", "default");
    workload.name = stringOr(meta, "name", "");
    workload.labels = stringMap(spec.value("labels", nlohmann::json::object()));
    workload.serviceAccount = stringOr(spec, "serviceAccount", "default");
    for (const nlohmann::json& port : spec.value("ports", nlohmann::json::array())) {
      if (port.is_object() && port.contains("port") && port["port"].is_number_integer()) {
        workload.ports.push_back({stringOr(port, "name", ""), port["port"].get<int>()});
      }
    }
    for (const nlohmann::json& arg : spec.value("command", nlohmann::json::array())) {
      if (arg.is_string()) {
        workload.command.push_back(arg.get<std::string>());
      }
    }
    workload.env = stringMap(spec.value("env", nlohmann::json::object()));
    workload.workingDir = stringOr(spec, "workingDir", "");
    if (auto replicas = spec.find("replicas");
        replicas != spec.end() && replicas->is_number_integer()) {
      workload.replicas = std::clamp(replicas->get<int>(), 0, 64);
    }
    workload.fingerprint = spec.dump();
    if (!workload.name.empty() && !workload.command.empty()) {
      out.push_back(std::move(workload));
    }
  }
  return out;
}

uint32_t fnv1a(std::string_view text) {
  uint32_t hash = 2166136261u;
  for (const char c : text) {
    hash = (hash ^ static_cast<uint8_t>(c)) * 16777619u;
  }
  return hash;
}

std::string localPodAddress(int index) {
  return fmt::format("127.77.{}.{}", index / 254 + 1, index % 254 + 1);
}

std::string localAppAddress(int index) {
  return fmt::format("127.78.{}.{}", index / 254 + 1, index % 254 + 1);
}

std::string instanceName(const WorkloadSpec& workload, int index) {
  return fmt::format("{}-{}", workload.name, index);
}

std::vector<ServiceAddress> servicesFromList(const nlohmann::json& list) {
  std::vector<ServiceAddress> out;
  if (!list.is_object() || !list.contains("items") || !list["items"].is_array()) {
    return out;
  }
  for (const nlohmann::json& item : list["items"]) {
    if (!item.is_object() || !item.contains("metadata")) {
      continue;
    }
    const nlohmann::json spec = item.value("spec", nlohmann::json::object());
    out.push_back({stringOr(item["metadata"], "namespace", "default"),
                   stringOr(item["metadata"], "name", ""), stringOr(spec, "clusterIP", "")});
  }
  return out;
}

std::string allocateClusterIp(const std::string& ns, const std::string& name,
                              const std::set<std::string>& taken) {
  const uint32_t hash = fnv1a(ns + "/" + name);
  constexpr uint32_t kUsable = 65534; // 10.96.0.1 .. 10.96.255.254
  for (uint32_t step = 0; step < kUsable; ++step) {
    const uint32_t host = (hash + step) % kUsable + 1;
    std::string address = fmt::format("10.96.{}.{}", host >> 8, host & 0xff);
    if ((host & 0xff) != 0 && (host & 0xff) != 0xff && !taken.contains(address)) {
      return address;
    }
  }
  return "";
}

std::vector<HostAddress> serviceEntryHostsFromList(const nlohmann::json& list) {
  std::vector<HostAddress> out;
  if (!list.is_object() || !list.contains("items") || !list["items"].is_array()) {
    return out;
  }
  for (const nlohmann::json& item : list["items"]) {
    const nlohmann::json spec = item.value("spec", nlohmann::json::object());
    const nlohmann::json hosts = spec.value("hosts", nlohmann::json::array());
    const nlohmann::json addresses = spec.value("addresses", nlohmann::json::array());
    for (const nlohmann::json& address : addresses) {
      if (!address.is_string() || address.get<std::string>().find('/') != std::string::npos) {
        continue; // a CIDR range names no single address
      }
      for (const nlohmann::json& host : hosts) {
        if (host.is_string() && !host.get<std::string>().starts_with("*")) {
          out.push_back({host.get<std::string>(), address.get<std::string>()});
        }
      }
      break; // the first address answers for the name
    }
  }
  return out;
}

std::string gatewayServicesYaml() {
  std::string out;
  for (const char* kind : {"ingress", "egress"}) {
    out += fmt::format(R"(apiVersion: v1
kind: Service
metadata:
  name: istio-{0}gateway
  namespace: istio-system
  labels: {{app: istio-{0}gateway, istio: {0}gateway}}
spec:
  selector: {{istio: {0}gateway}}
  ports:
  - {{name: http, port: 80, targetPort: 8080}}
  - {{name: https, port: 443, targetPort: 8443}}
---
)",
                       kind);
  }
  return out;
}

std::string hostsFileFor(const std::string& podIp, const std::string& podName,
                         const std::string& podNs, const std::vector<ServiceAddress>& services,
                         const std::vector<HostAddress>& entryHosts) {
  std::string out = "# written by meshctl: this instance's view of Kubernetes DNS\n";
  out += "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  out += fmt::format("{}\t{}\n", podIp, podName);
  std::vector<ServiceAddress> sorted = services;
  std::sort(sorted.begin(), sorted.end(), [](const ServiceAddress& a, const ServiceAddress& b) {
    return std::tie(a.ns, a.name) < std::tie(b.ns, b.name);
  });
  for (const ServiceAddress& service : sorted) {
    if (service.clusterIp.empty() || service.clusterIp == "None") {
      continue;
    }
    out +=
        fmt::format("{}\t{}.{}.svc.cluster.local {}.{}.svc {}.{}", service.clusterIp, service.name,
                    service.ns, service.name, service.ns, service.name, service.ns);
    if (service.ns == podNs) {
      out += " " + service.name;
    }
    out += "\n";
  }
  for (const HostAddress& entry : entryHosts) {
    out += fmt::format("{}\t{}\n", entry.address, entry.host);
  }
  return out;
}

std::string isolatedResolvConf(const std::string& podNs) {
  return fmt::format("# written by meshctl: service names come from /etc/hosts; no DNS server\n"
                     "search {}.svc.cluster.local svc.cluster.local cluster.local\n"
                     "nameserver 127.0.0.1\noptions ndots:5 timeout:1 attempts:1\n",
                     podNs);
}

std::string proxyBootstrap(const std::string& xdsAddress, int xdsPort,
                           const std::string& adminAddress, int adminPort,
                           const std::map<std::string, std::string>& extraMetadata) {
  std::string metadata;
  for (const auto& [key, value] : extraMetadata) {
    metadata += fmt::format("    {}: {}\n", key, nlohmann::json(value).dump());
  }
  return fmt::format(R"(# written by meshctl: the rest comes from meshd over ADS
node:
  metadata:
    MESHD_BOOTSTRAP: "meshctl"
{metadata}admin:
  address: {{ socket_address: {{ address: {admin}, port_value: {adminPort} }} }}
dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services: [ {{ envoy_grpc: {{ cluster_name: xds-grpc }} }} ]
  cds_config: {{ ads: {{}}, resource_api_version: V3 }}
  lds_config: {{ ads: {{}}, resource_api_version: V3 }}
static_resources:
  clusters:
  - name: xds-grpc
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: xds-grpc
      endpoints:
      - lb_endpoints:
        - endpoint: {{ address: {{ socket_address: {{ address: {xds}, port_value: {xdsPort} }} }} }}
)",
                     fmt::arg("metadata", metadata), fmt::arg("admin", adminAddress),
                     fmt::arg("adminPort", adminPort), fmt::arg("xds", xdsAddress),
                     fmt::arg("xdsPort", xdsPort));
}

std::string nodeIdOf(const std::string& proxyType, const std::string& ip, const std::string& pod,
                     const std::string& ns) {
  return fmt::format("{}~{}~{}.{}~{}.svc.cluster.local", proxyType, ip, pod, ns, ns);
}

} // namespace meshd::cli::mesh
