// InstanceApi (instance_api.h).
#include "control/server/instance_api.h"

#include <utility>

#include "absl/strings/str_split.h"
#include "core/status.h"
#include "fmt/format.h"

namespace meshd::control::server {
namespace {

core::AdminResponse jsonReply(int status, const nlohmann::json& body) {
  return {status, "application/json",
          body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"};
}

core::AdminResponse errorReply(int status, std::string_view message) {
  return jsonReply(status, {{"error", std::string(message)}});
}

absl::Status expect(bool ok, std::string_view field, std::string_view type) {
  if (ok) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(fmt::format("\"{}\" must be {}", field, type));
}

} // namespace

absl::StatusOr<registry::WorkloadInstance> instanceFromJson(const nlohmann::json& body,
                                                            std::string ns, std::string name) {
  RETURN_IF_ERROR(expect(body.is_object(), "body", "a JSON object"));
  registry::WorkloadInstance out;
  out.ns = std::move(ns);
  out.name = std::move(name);
  out.kind = registry::InstanceKind::kProcess;
  for (const auto& [field, value] : body.items()) {
    if (field == "address" || field == "serviceAccount" || field == "workload" ||
        field == "locality" || field == "network") {
      RETURN_IF_ERROR(expect(value.is_string(), field, "a string"));
      const std::string text = value.get<std::string>();
      if (field == "address") {
        out.address = text;
      } else if (field == "serviceAccount") {
        out.serviceAccount = text;
      } else if (field == "workload") {
        out.source = text;
      } else if (field == "locality") {
        out.locality = text;
      } else {
        out.network = text;
      }
    } else if (field == "labels") {
      RETURN_IF_ERROR(expect(value.is_object(), field, "an object of strings"));
      for (const auto& [key, label] : value.items()) {
        RETURN_IF_ERROR(expect(label.is_string(), "labels." + key, "a string"));
        out.labels[key] = label.get<std::string>();
      }
    } else if (field == "namedPorts") {
      RETURN_IF_ERROR(expect(value.is_object(), field, "an object of port numbers"));
      for (const auto& [key, port] : value.items()) {
        RETURN_IF_ERROR(expect(port.is_number_unsigned() && port.get<uint64_t>() <= 65535,
                               "namedPorts." + key, "a port number"));
        out.namedPorts[key] = port.get<uint32_t>();
      }
    } else if (field == "healthy") {
      RETURN_IF_ERROR(expect(value.is_boolean(), field, "true or false"));
      out.healthy = value.get<bool>();
    } else if (field == "weight") {
      RETURN_IF_ERROR(expect(value.is_number_unsigned(), field, "a non-negative integer"));
      out.weight = value.get<uint32_t>();
    } else if (field != "name" && field != "namespace") {
      return absl::InvalidArgumentError(fmt::format("unknown field \"{}\"", field));
    }
  }
  RETURN_IF_ERROR(expect(!out.address.empty(), "address", "set"));
  return out;
}

nlohmann::json instanceToJson(const registry::WorkloadInstance& instance) {
  return {{"namespace", instance.ns},
          {"name", instance.name},
          {"address", instance.address},
          {"labels", instance.labels},
          {"serviceAccount", instance.serviceAccount},
          {"namedPorts", instance.namedPorts},
          {"healthy", instance.healthy},
          {"workload", instance.source},
          {"locality", instance.locality},
          {"network", instance.network},
          {"weight", instance.weight}};
}

void InstanceApi::registerOn(core::AdminHttpServer& server) {
  auto handler = [this](const core::AdminRequest& request) { return handle(request); };
  server.route(std::string(kInstancesPath), "running workload instances (docs/api.md)", handler);
  server.routePrefix(std::string(kInstancesPath) + "/",
                     "PUT/DELETE one workload instance: .../{namespace}/{name}", handler);
}

bool InstanceApi::put(registry::WorkloadInstance instance) {
  registry::InstanceId id{instance.ns, instance.name};
  auto [it, inserted] = instances_.try_emplace(std::move(id), instance);
  if (!inserted) {
    if (it->second == instance) {
      return false;
    }
    it->second = std::move(instance);
  }
  changed_();
  return true;
}

bool InstanceApi::remove(const std::string& ns, const std::string& name) {
  if (instances_.erase({ns, name}) == 0) {
    return false;
  }
  changed_();
  return true;
}

std::vector<registry::WorkloadInstance> InstanceApi::instances() const {
  std::vector<registry::WorkloadInstance> out;
  out.reserve(instances_.size());
  for (const auto& [id, instance] : instances_) {
    out.push_back(instance);
  }
  return out;
}

core::AdminResponse InstanceApi::handle(const core::AdminRequest& request) {
  if (request.path == kInstancesPath || request.path == std::string(kInstancesPath) + "/") {
    if (request.method != "GET") {
      return errorReply(405, "use GET on the collection, PUT or DELETE on .../{namespace}/{name}");
    }
    nlohmann::json items = nlohmann::json::array();
    for (const auto& [id, instance] : instances_) {
      items.push_back(instanceToJson(instance));
    }
    return jsonReply(200, {{"items", std::move(items)}});
  }
  const std::string rest = request.path.substr(kInstancesPath.size() + 1);
  const std::vector<std::string> parts = absl::StrSplit(rest, '/');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
    return errorReply(404, "expected .../instances/{namespace}/{name}");
  }
  if (request.method == "GET") {
    auto it = instances_.find({parts[0], parts[1]});
    return it == instances_.end() ? errorReply(404, "no such instance")
                                  : jsonReply(200, instanceToJson(it->second));
  }
  if (request.method == "DELETE") {
    return remove(parts[0], parts[1]) ? jsonReply(200, {{"deleted", true}})
                                      : errorReply(404, "no such instance");
  }
  if (request.method != "PUT") {
    return errorReply(405, "use GET, PUT or DELETE");
  }
  const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
  if (body.is_discarded()) {
    return errorReply(400, "the body is not JSON");
  }
  auto instance = instanceFromJson(body, parts[0], parts[1]);
  if (!instance.ok()) {
    return errorReply(400, std::string(instance.status().message()));
  }
  const nlohmann::json reply = instanceToJson(*instance);
  const bool changed = put(std::move(*instance));
  return jsonReply(200, {{"instance", reply}, {"changed", changed}});
}

} // namespace meshd::control::server
