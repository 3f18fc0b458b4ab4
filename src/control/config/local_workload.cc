// LocalWorkload parsing and checks (local_workload.h).
#include "control/config/local_workload.h"

#include <set>

#include "fmt/format.h"

namespace meshd::control::config {
namespace {

constexpr int64_t kMaxReplicas = 64;

std::optional<LocalWorkloadPort> readPort(ReadContext& ctx, const nlohmann::json& value,
                                          const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"name", "port", "protocol"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  LocalWorkloadPort port;
  port.name = readDnsLabel(reader, "name", "port name", /*required=*/true);
  if (reader.require("port")) {
    port.port = reader.port("port").value_or(0);
  }
  port.protocol = readProtocol(reader, "protocol").value_or(Protocol::kUnspecified);
  return port;
}

bool isEnvName(const std::string& name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
    return false;
  }
  for (char c : name) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

} // namespace

std::optional<LocalWorkload> parseLocalWorkload(const ConfigObject& object,
                                                std::vector<Diagnostic>& out) {
  return parseKind<LocalWorkload>(object, out, [&](ReadContext& ctx, LocalWorkload& workload) {
    const MessageReader spec = readSpec(
        ctx, {"labels", "serviceAccount", "ports", "command", "env", "workingDir", "replicas"});
    workload.labels = readLabels(spec, "labels");
    if (std::optional<std::string> account = spec.string("serviceAccount")) {
      if (!isDnsLabel(*account) && !checkFqdn(*account).empty()) {
        spec.error("serviceAccount",
                   fmt::format("'{}' is not a valid service account name", *account));
      }
      workload.serviceAccount = *account;
    }
    workload.ports = spec.list("ports", readPort);
    std::set<std::string> names;
    std::set<uint32_t> numbers;
    for (size_t i = 0; i < workload.ports.size(); ++i) {
      const std::string pointer = childPointer(spec.pointer("ports"), std::to_string(i));
      if (!names.insert(workload.ports[i].name).second) {
        ctx.error(childPointer(pointer, "name"),
                  fmt::format("duplicate port name '{}'", workload.ports[i].name));
      }
      if (!numbers.insert(workload.ports[i].port).second) {
        ctx.error(childPointer(pointer, "port"),
                  fmt::format("duplicate port {}", workload.ports[i].port));
      }
    }
    if (spec.require("command")) {
      workload.command = spec.strings("command");
      if (workload.command.empty() || workload.command[0].empty()) {
        spec.error("command", "command must name a program (argv[0] is missing or empty)");
      }
    }
    workload.env = spec.stringMap("env");
    for (const auto& [name, unused] : workload.env) {
      if (!isEnvName(name)) {
        ctx.error(childPointer(spec.pointer("env"), name),
                  fmt::format("'{}' is not a valid environment variable name (letters, digits "
                              "and '_', not starting with a digit)",
                              name));
      }
    }
    workload.workingDir = spec.string("workingDir").value_or("");
    workload.replicas =
        static_cast<uint32_t>(spec.integer("replicas", 1, kMaxReplicas).value_or(1));
  });
}

} // namespace meshd::control::config
