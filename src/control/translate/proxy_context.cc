// ProxyContext::fromNode (proxy_context.h).
#include "control/translate/proxy_context.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace meshd::control::translate {
namespace {

std::string stringField(const google::protobuf::Struct& metadata, const std::string& key) {
  const auto found = metadata.fields().find(key);
  return found != metadata.fields().end() && found->second.has_string_value()
             ? found->second.string_value()
             : "";
}

// A port number given as a number or a string; 0 when it is neither or out of range.
uint32_t portValue(const google::protobuf::Value& value) {
  double number = 0;
  if (value.has_number_value()) {
    number = value.number_value();
  } else if (int parsed = 0;
             value.has_string_value() && absl::SimpleAtoi(value.string_value(), &parsed)) {
    number = parsed;
  }
  return number >= 1 && number <= 65535 ? static_cast<uint32_t>(number) : 0;
}

} // namespace

ProxyContext ProxyContext::fromNode(const envoy::config::core::v3::Node& node) {
  ProxyContext out;
  out.id = node.id();
  // <type>~<ip>~<pod>.<ns>~<ns>.svc.cluster.local
  const std::vector<std::string> parts = absl::StrSplit(node.id(), '~');
  if (parts.size() == 4) {
    out.type = parts[0] == "router" ? Type::kRouter : Type::kSidecar;
    out.ips.push_back(parts[1]);
    const size_t dot = parts[2].rfind('.');
    out.podName = parts[2].substr(0, dot);
    if (dot != std::string::npos) {
      out.ns = parts[2].substr(dot + 1);
    }
  }
  const auto& metadata = node.metadata();
  if (stringField(metadata, "GENERATOR") == "grpc") {
    out.type = Type::kProxylessGrpc;
  }
  if (const std::string ns = stringField(metadata, "NAMESPACE"); !ns.empty()) {
    out.ns = ns;
  }
  out.workloadName = stringField(metadata, "WORKLOAD_NAME");
  if (const std::string pod = stringField(metadata, "NAME"); !pod.empty()) {
    out.podName = pod;
  }
  if (const std::string account = stringField(metadata, "SERVICE_ACCOUNT"); !account.empty()) {
    out.serviceAccount = account;
  }
  if (const std::string ips = stringField(metadata, "INSTANCE_IPS"); !ips.empty()) {
    out.ips = absl::StrSplit(ips, ',', absl::SkipEmpty());
  }
  if (const auto port = metadata.fields().find("MESHD_EXPLICIT_PROXY_PORT");
      port != metadata.fields().end()) {
    out.explicitProxyPort = portValue(port->second);
  }
  out.captured = stringField(metadata, "INTERCEPTION_MODE") != "NONE";
  out.appAddress = stringField(metadata, "MESHD_APP_ADDRESS");
  if (const auto labels = metadata.fields().find("LABELS");
      labels != metadata.fields().end() && labels->second.has_struct_value()) {
    for (const auto& [key, value] : labels->second.struct_value().fields()) {
      if (value.has_string_value()) {
        out.labels[key] = value.string_value();
      }
    }
  }
  return out;
}

std::string ProxyContext::bindAddress() const {
  return !captured && !ips.empty() ? ips.front() : "0.0.0.0";
}

} // namespace meshd::control::translate
