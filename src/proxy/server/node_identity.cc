// NodeIdentity (node_identity.h).
#include "proxy/server/node_identity.h"

#include <regex>

#include "boost/asio/ip/address.hpp"
#include "fmt/format.h"

namespace meshd::proxy::server {
namespace {

bool isDnsLabel(const std::string& s) {
  static const std::regex kLabel("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
  return s.size() <= 63 && std::regex_match(s, kLabel);
}

void setString(google::protobuf::Struct& metadata, const std::string& key,
               const std::string& value) {
  (*metadata.mutable_fields())[key].set_string_value(value);
}

std::string joined(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& value : values) {
    out += (out.empty() ? "" : ",") + value;
  }
  return out;
}

} // namespace

absl::Status validateNodeIdentity(const NodeIdentity& identity) {
  if (identity.proxyType != "sidecar" && identity.proxyType != "router") {
    return absl::InvalidArgumentError(
        fmt::format("proxy type '{}' is neither 'sidecar' nor 'router'", identity.proxyType));
  }
  if (!isDnsLabel(identity.ns)) {
    return absl::InvalidArgumentError(
        fmt::format("namespace '{}' is not a DNS label", identity.ns));
  }
  for (const auto& [field, value] :
       {std::pair{"workload name", identity.workloadName}, std::pair{"pod name", identity.podName},
        std::pair{"service account", identity.serviceAccount}}) {
    if (!value.empty() && !isDnsLabel(value)) {
      return absl::InvalidArgumentError(fmt::format("{} '{}' is not a DNS label", field, value));
    }
  }
  for (const auto& ip : identity.ips) {
    boost::system::error_code error;
    boost::asio::ip::make_address(ip, error);
    if (error) {
      return absl::InvalidArgumentError(fmt::format("'{}' is not an IP address", ip));
    }
  }
  return absl::OkStatus();
}

void applyNodeIdentity(const NodeIdentity& identity, envoy::config::core::v3::Node& node) {
  const std::string pod = identity.podName.empty() ? identity.workloadName : identity.podName;
  const std::string ip = identity.ips.empty() ? "127.0.0.1" : identity.ips.front();
  node.set_id(fmt::format("{}~{}~{}.{}~{}.svc.cluster.local", identity.proxyType, ip, pod,
                          identity.ns, identity.ns));
  const auto app = identity.labels.find("app");
  node.set_cluster(fmt::format(
      "{}.{}", app != identity.labels.end() ? app->second : identity.workloadName, identity.ns));

  google::protobuf::Struct& metadata = *node.mutable_metadata();
  setString(metadata, "NAMESPACE", identity.ns);
  setString(metadata, "NAME", pod);
  setString(metadata, "WORKLOAD_NAME", identity.workloadName);
  setString(metadata, "SERVICE_ACCOUNT",
            identity.serviceAccount.empty() ? "default" : identity.serviceAccount);
  setString(metadata, "INSTANCE_IPS",
            joined(identity.ips.empty() ? std::vector{ip} : identity.ips));
  setString(metadata, "CLUSTER_ID", identity.clusterId);
  setString(metadata, "MESH_ID", identity.meshId);
  google::protobuf::Struct labels;
  for (const auto& [key, value] : identity.labels) {
    setString(labels, key, value);
  }
  *(*metadata.mutable_fields())["LABELS"].mutable_struct_value() = std::move(labels);
}

} // namespace meshd::proxy::server
