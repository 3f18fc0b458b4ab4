// WorkloadEntry and WorkloadGroup parsing and Istio's checks for them (workload_entry.h).
#include "control/config/networking/workload_entry.h"

#include "fmt/format.h"

namespace meshd::control::config {
namespace {

std::optional<uint32_t> readPortValue(ReadContext& ctx, const nlohmann::json& value,
                                      const std::string& pointer) {
  if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 65535) {
    ctx.error(pointer,
              fmt::format("must be a port number between 1 and 65535 (got {})", jsonText(value)));
    return std::nullopt;
  }
  return static_cast<uint32_t>(value.get<int64_t>());
}

int32_t readSeconds(const MessageReader& reader, std::string_view field, int32_t fallback) {
  return static_cast<int32_t>(reader.integer(field, 0, INT32_MAX).value_or(fallback));
}

std::optional<std::pair<std::string, std::string>>
readHeader(ReadContext& ctx, const nlohmann::json& value, const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"name", "value"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  std::string name = reader.string("name").value_or("");
  if (std::string error = checkHeaderName(name); !error.empty()) {
    reader.error("name", std::move(error));
  }
  return std::make_pair(std::move(name), reader.string("value").value_or(""));
}

std::optional<HttpHealthCheck> readHttpGet(ReadContext& ctx, const nlohmann::json& value,
                                           const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"path", "port", "host", "scheme", "httpHeaders"});
  HttpHealthCheck check;
  check.path = reader.string("path").value_or("/");
  if (reader.require("port")) {
    check.port = reader.port("port").value_or(0);
  }
  check.host = reader.string("host").value_or("");
  check.scheme = reader.string("scheme").value_or("HTTP");
  if (check.scheme != "HTTP" && check.scheme != "HTTPS" && check.scheme != "http" &&
      check.scheme != "https") {
    reader.error("scheme", fmt::format("'{}' is not HTTP or HTTPS", check.scheme));
  }
  check.headers = reader.list("httpHeaders", readHeader);
  return check;
}

std::optional<TcpHealthCheck> readTcpSocket(ReadContext& ctx, const nlohmann::json& value,
                                            const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"host", "port"});
  TcpHealthCheck check;
  check.host = reader.string("host").value_or("");
  if (reader.require("port")) {
    check.port = reader.port("port").value_or(0);
  }
  return check;
}

std::optional<ExecHealthCheck> readExec(ReadContext& ctx, const nlohmann::json& value,
                                        const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"command"});
  ExecHealthCheck check;
  if (reader.require("command")) {
    check.command = reader.strings("command");
    if (check.command.empty()) {
      reader.error("command", "command must not be empty");
    }
  }
  return check;
}

std::optional<GrpcHealthCheck> readGrpc(ReadContext& ctx, const nlohmann::json& value,
                                        const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"port", "service"});
  GrpcHealthCheck check;
  if (reader.require("port")) {
    check.port = reader.port("port").value_or(0);
  }
  check.service = reader.string("service").value_or("");
  return check;
}

std::optional<ReadinessProbe> readProbe(ReadContext& ctx, const nlohmann::json& value,
                                        const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"initialDelaySeconds", "timeoutSeconds", "periodSeconds",
                              "successThreshold", "failureThreshold", "httpGet", "tcpSocket",
                              "exec", "grpc"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  ReadinessProbe probe;
  probe.initialDelaySeconds = readSeconds(reader, "initialDelaySeconds", 0);
  probe.timeoutSeconds = readSeconds(reader, "timeoutSeconds", 1);
  probe.periodSeconds = readSeconds(reader, "periodSeconds", 10);
  probe.successThreshold = readSeconds(reader, "successThreshold", 1);
  probe.failureThreshold = readSeconds(reader, "failureThreshold", 3);
  const std::string_view kind = reader.oneOf({"httpGet", "tcpSocket", "exec", "grpc"}, true);
  if (kind == "httpGet") {
    probe.check = reader.message("httpGet", readHttpGet).value_or(HttpHealthCheck{});
  } else if (kind == "tcpSocket") {
    probe.check = reader.message("tcpSocket", readTcpSocket).value_or(TcpHealthCheck{});
  } else if (kind == "exec") {
    probe.check = reader.message("exec", readExec).value_or(ExecHealthCheck{});
  } else if (kind == "grpc") {
    probe.check = reader.message("grpc", readGrpc).value_or(GrpcHealthCheck{});
  }
  return probe;
}

void checkAddress(const MessageReader& reader, const std::string& address) {
  if (address.starts_with("unix://")) {
    if (address.size() <= 7 || address[7] != '/') {
      reader.error("address",
                   fmt::format("'{}' is not a unix socket address (unix:///path)", address));
    } else {
      reader.warning("address", kUnixEndpointWarning);
    }
  } else if (!isIpAddress(address)) {
    if (std::string error = checkFqdn(address); !error.empty()) {
      reader.error("address",
                   fmt::format("'{}' is not an IP address, host name or unix socket", address));
    }
  }
}

} // namespace

std::optional<WorkloadEntry> readWorkloadEntry(ReadContext& ctx, const nlohmann::json& value,
                                               const std::string& pointer, WorkloadEntryUse use) {
  const MessageReader reader(
      ctx, value, pointer,
      {"address", "ports", "labels", "network", "locality", "weight", "serviceAccount"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  WorkloadEntry entry;
  entry.address = reader.string("address").value_or("");
  entry.network = reader.string("network").value_or("");
  if (use == WorkloadEntryUse::kGroupTemplate && !entry.address.empty()) {
    reader.error("address", "address is not allowed in a WorkloadGroup template");
  } else if (use == WorkloadEntryUse::kStandalone && entry.address.empty() &&
             entry.network.empty()) {
    reader.error("address", "address is required (unless network is set)");
  } else if (!entry.address.empty() && use == WorkloadEntryUse::kStandalone) {
    checkAddress(reader, entry.address);
  }
  entry.ports = reader.map("ports", readPortValue);
  for (const auto& [name, unused] : entry.ports) {
    if (!isDnsLabel(name)) {
      ctx.error(childPointer(reader.pointer("ports"), name),
                fmt::format("'{}' is not a valid port name (a DNS label)", name));
    }
  }
  if (entry.address.starts_with("unix://") && !entry.ports.empty()) {
    reader.error("ports", "a unix socket endpoint has no ports");
  }
  if (use != WorkloadEntryUse::kGroupTemplate && entry.address.empty() && !entry.network.empty()) {
    reader.warning("network", fmt::format("address is unset with network '{}' (reached through "
                                          "the network's gateway)",
                                          entry.network));
  }
  entry.labels = readLabels(reader, "labels");
  entry.locality = reader.string("locality").value_or("");
  entry.weight = static_cast<uint32_t>(reader.integer("weight", 0, UINT32_MAX).value_or(0));
  entry.serviceAccount = reader.string("serviceAccount").value_or("");
  return entry;
}

std::optional<WorkloadEntryObject> parseWorkloadEntry(const ConfigObject& object,
                                                      std::vector<Diagnostic>& out) {
  return parseKind<WorkloadEntryObject>(
      object, out, [&](ReadContext& ctx, WorkloadEntryObject& entry) {
        checkTopLevel(ctx); // the spec is itself a WorkloadEntry message
        if (std::optional<WorkloadEntry> spec =
                readWorkloadEntry(ctx, object.spec(), "/spec", WorkloadEntryUse::kStandalone)) {
          entry.spec = std::move(*spec);
        }
      });
}

std::optional<WorkloadGroup> parseWorkloadGroup(const ConfigObject& object,
                                                std::vector<Diagnostic>& out) {
  return parseKind<WorkloadGroup>(object, out, [&](ReadContext& ctx, WorkloadGroup& group) {
    const MessageReader spec = readSpec(ctx, {"metadata", "template", "probe"});
    if (std::optional<std::pair<Labels, std::map<std::string, std::string>>> meta = spec.message(
            "metadata",
            [](ReadContext& inner, const nlohmann::json& value, const std::string& pointer)
                -> std::optional<std::pair<Labels, std::map<std::string, std::string>>> {
              const MessageReader reader(inner, value, pointer, {"labels", "annotations"});
              return std::make_pair(readLabels(reader, "labels"), reader.stringMap("annotations"));
            })) {
      group.templateLabels = std::move(meta->first);
      group.templateAnnotations = std::move(meta->second);
    }
    if (spec.require("template")) {
      if (std::optional<WorkloadEntry> entry =
              readWorkloadEntry(ctx, object.spec()["template"], spec.pointer("template"),
                                WorkloadEntryUse::kGroupTemplate)) {
        group.entryTemplate = std::move(*entry);
      }
    }
    group.probe = spec.message("probe", readProbe);
  });
}

} // namespace meshd::control::config
