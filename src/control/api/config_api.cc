// ConfigApi (config_api.h): path parsing, body parsing and the mapping of store results to HTTP.
#include "control/api/config_api.h"

#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "control/api/api_json.h"
#include "control/config/kinds.h"
#include "control/config/object_parser.h"
#include "fmt/format.h"

namespace meshd::control::api {
namespace {

using config::ConfigObject;
using config::Diagnostic;
using core::AdminRequest;
using core::AdminResponse;

constexpr const char* kJson = "application/json";

AdminResponse jsonResponse(int status, const nlohmann::json& body) {
  // Strings come from users' YAML; invalid UTF-8 must not make dump() throw.
  return AdminResponse{status, kJson,
                       body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"};
}

AdminResponse errorResponse(int status, std::string_view message,
                            const std::vector<Diagnostic>& diagnostics = {}) {
  return jsonResponse(status, statusJson(status, message, diagnostics));
}

bool flag(const AdminRequest& request, const std::string& name) {
  const auto it = request.query.find(name);
  return it != request.query.end() && (it->second == "true" || it->second == "All");
}

std::string queryOr(const AdminRequest& request, const std::string& name, std::string fallback) {
  const auto it = request.query.find(name);
  return it == request.query.end() || it->second.empty() ? std::move(fallback) : it->second;
}

// Moves metadata.resourceVersion ("12" or 12) out of the object's JSON into resourceVersion.
absl::Status takeResourceVersion(ConfigObject& object) {
  nlohmann::json& metadata = object.json["metadata"];
  const auto it = metadata.find("resourceVersion");
  if (it == metadata.end()) {
    return absl::OkStatus();
  }
  int64_t version = 0;
  const bool ok =
      it->is_number_integer()
          ? (version = it->get<int64_t>()) >= 0
          : it->is_string() && (it->get_ref<const std::string&>().empty() ||
                                absl::SimpleAtoi(it->get_ref<const std::string&>(), &version));
  if (!ok || version < 0) {
    return absl::InvalidArgumentError(
        fmt::format("{}: metadata.resourceVersion must be a version number from this server",
                    object.key.toString()));
  }
  metadata.erase(it);
  object.resourceVersion = version;
  return absl::OkStatus();
}

// Every error's text after the status message, so that the message alone tells the whole story.
std::string messageWithErrors(std::string_view message,
                              const std::vector<Diagnostic>& diagnostics) {
  std::string out(message);
  for (const Diagnostic& diagnostic : diagnostics) {
    if (diagnostic.severity == Diagnostic::Severity::kError) {
      out += "\n" + diagnostic.toString();
    }
  }
  return out;
}

AdminResponse kindsResponse() {
  nlohmann::json resources = nlohmann::json::array();
  for (const config::KindInfo& info : config::knownKinds()) {
    resources.push_back({{"kind", info.kind},
                         {"plural", info.plural},
                         {"group", info.group},
                         {"versions", info.versions},
                         {"namespaced", info.namespaced}});
  }
  return jsonResponse(200, {{"kind", "APIResourceList"}, {"resources", resources}});
}

} // namespace

struct ConfigApi::Target {
  const config::KindInfo* kind = nullptr;
  std::optional<std::string> ns; // nullopt: every namespace; "" for cluster-scoped kinds
  std::string name;              // empty: the collection

  config::ObjectKey key() const { return {std::string(kind->kind), ns.value_or(""), name}; }
};

ConfigApi::ConfigApi(config::ConfigStore& store, stats::Store& stats)
    : store_(store), accepted_(stats.counter("config_writes", {{"result", "accepted"}},
                                             "Config writes through the API, by result")),
      rejected_(stats.counter("config_writes", {{"result", "rejected"}},
                              "Config writes through the API, by result")) {}

void ConfigApi::registerOn(core::AdminHttpServer& server) {
  auto handler = [this](const AdminRequest& request) { return handle(request); };
  server.route(std::string(kApiPrefix), "config API: the kinds served (docs/api.md)", handler);
  server.routePrefix(std::string(kApiPrefix) + "/", "config API (docs/api.md)", handler);
}

AdminResponse ConfigApi::handle(const AdminRequest& request) {
  std::string_view rest = request.path;
  if (!rest.starts_with(kApiPrefix)) {
    return errorResponse(404, fmt::format("no API path '{}'", request.path));
  }
  rest.remove_prefix(kApiPrefix.size());
  const std::vector<std::string> parts =
      absl::StrSplit(absl::string_view(rest.data(), rest.size()), '/', absl::SkipEmpty());
  if (parts.empty()) {
    return request.method == "GET" ? kindsResponse()
                                   : errorResponse(405, "only GET is served here");
  }
  if (parts.size() == 1 && (parts[0] == "apply" || parts[0] == "delete")) {
    if (request.method != "POST") {
      return errorResponse(405, fmt::format("{} takes POST", request.path));
    }
    return parts[0] == "apply" ? applyDocuments(request) : deleteDocuments(request);
  }
  Target target;
  if (std::optional<AdminResponse> error = resolve(request.path, parts, target)) {
    return *error;
  }
  return target.name.empty() ? handleCollection(request, target) : handleItem(request, target);
}

std::optional<AdminResponse>
ConfigApi::resolve(const std::string& path, const std::vector<std::string>& parts, Target& target) {
  const bool inNamespace = parts.size() >= 3 && parts[0] == "namespaces";
  const size_t pluralAt = inNamespace ? 2 : 0;
  if (parts.size() > pluralAt + 2) {
    return errorResponse(404, fmt::format("no API path '{}'", path));
  }
  target.kind = config::findKind(parts[pluralAt]);
  if (target.kind == nullptr || target.kind->plural != parts[pluralAt]) {
    return errorResponse(404, fmt::format("unknown resource type '{}' (GET {} lists them)",
                                          parts[pluralAt], kApiPrefix));
  }
  const config::KindInfo& kind = *target.kind;
  if (inNamespace != kind.namespaced && (inNamespace || parts.size() == 2)) {
    return errorResponse(
        404,
        kind.namespaced
            ? fmt::format("{} is namespaced: use {}/namespaces/{{namespace}}/{}/{{name}}",
                          kind.kind, kApiPrefix, kind.plural)
            : fmt::format("{} is cluster-scoped: use {}/{}", kind.kind, kApiPrefix, kind.plural));
  }
  if (inNamespace) {
    target.ns = parts[1];
  } else if (!kind.namespaced) {
    target.ns = "";
  }
  if (parts.size() == pluralAt + 2) {
    target.name = parts[pluralAt + 1];
  }
  return std::nullopt;
}

AdminResponse ConfigApi::handleCollection(const AdminRequest& request, const Target& target) {
  if (request.method == "GET") {
    const int64_t version = store_.resourceVersion();
    const std::optional<std::string_view> ns =
        target.ns.has_value() ? std::optional<std::string_view>(*target.ns) : std::nullopt;
    return jsonResponse(200, listJson(store_.list(target.kind->kind, ns), version));
  }
  if (request.method == "POST" && target.ns.has_value()) {
    return writeOne(request, target, config::WriteMode::kCreate);
  }
  return errorResponse(
      405, request.method == "POST"
               ? fmt::format("create {} in a namespace: POST {}/namespaces/{{namespace}}/{}",
                             target.kind->plural, kApiPrefix, target.kind->plural)
               : fmt::format("{} is not served on a collection (GET, POST)", request.method));
}

AdminResponse ConfigApi::handleItem(const AdminRequest& request, const Target& target) {
  if (request.method == "GET") {
    const std::optional<ConfigObject> object = store_.get(target.key());
    return object.has_value()
               ? jsonResponse(200, objectJson(*object))
               : errorResponse(404, fmt::format("{} not found", target.key().toString()));
  }
  if (request.method == "PUT") {
    return writeOne(request, target, config::WriteMode::kReplace);
  }
  if (request.method == "DELETE") {
    const bool dryRun = flag(request, "dryRun");
    return writeResponse(store_.remove({target.key()}, {.dryRun = dryRun}), dryRun);
  }
  return errorResponse(
      405, fmt::format("{} is not served on an object (GET, PUT, DELETE)", request.method));
}

AdminResponse ConfigApi::writeOne(const AdminRequest& request, const Target& target,
                                  config::WriteMode mode) {
  const bool dryRun = flag(request, "dryRun");
  config::ParseResult parsed = config::parseObjects(request.body, queryOr(request, "file", ""),
                                                    target.ns.value_or("default"));
  std::string problem;
  if (config::hasErrors(parsed.diagnostics)) {
    problem = "the body is not a valid object";
  } else if (parsed.objects.size() != 1) {
    problem =
        fmt::format("the body must hold exactly one object (it has {})", parsed.objects.size());
  } else if (ConfigObject& object = parsed.objects[0]; object.key.kind != target.kind->kind) {
    problem =
        fmt::format("the body is a {}; this path takes {}", object.key.kind, target.kind->kind);
  } else if (object.key.ns != target.ns.value_or("")) {
    problem = fmt::format("the object's namespace '{}' is not the path's '{}'", object.key.ns,
                          target.ns.value_or(""));
  } else if (!target.name.empty() && object.key.name != target.name) {
    problem =
        fmt::format("the object's name '{}' is not the path's '{}'", object.key.name, target.name);
  } else if (absl::Status status = takeResourceVersion(object); !status.ok()) {
    problem = std::string(status.message());
  }
  if (!problem.empty()) {
    rejected_.inc();
    return errorResponse(400, messageWithErrors(problem, parsed.diagnostics), parsed.diagnostics);
  }
  const config::ObjectKey key = parsed.objects[0].key;
  config::WriteResult result = store_.write(mode, std::move(parsed.objects), {.dryRun = dryRun});
  AdminResponse response =
      writeResponse(result, dryRun, mode == config::WriteMode::kCreate ? 201 : 200);
  if (result.ok() && !dryRun) {
    if (const std::optional<ConfigObject> stored = store_.get(key); stored.has_value()) {
      nlohmann::json body = writeResultJson(result, dryRun);
      body["object"] = objectJson(*stored);
      response = jsonResponse(response.status, body);
    }
  }
  return response;
}

std::optional<AdminResponse> ConfigApi::parseDocuments(const AdminRequest& request,
                                                       config::ParseResult& parsed) {
  parsed = config::parseObjects(request.body, queryOr(request, "file", ""),
                                queryOr(request, "namespace", "default"));
  if (!config::hasErrors(parsed.diagnostics) && !parsed.objects.empty()) {
    return std::nullopt;
  }
  rejected_.inc();
  const std::string_view problem = parsed.objects.empty() && parsed.diagnostics.empty()
                                       ? "the body holds no objects"
                                       : "the body is not valid";
  return errorResponse(400, messageWithErrors(problem, parsed.diagnostics), parsed.diagnostics);
}

AdminResponse ConfigApi::applyDocuments(const AdminRequest& request) {
  config::ParseResult parsed;
  if (std::optional<AdminResponse> error = parseDocuments(request, parsed)) {
    return *error;
  }
  for (ConfigObject& object : parsed.objects) {
    // Apply writes whatever the body says, like kubectl apply: a version read earlier is
    // not a precondition here (PUT makes it one).
    object.json["metadata"].erase("resourceVersion");
  }
  const bool dryRun = flag(request, "dryRun");
  return writeResponse(store_.apply(std::move(parsed.objects), {.dryRun = dryRun}), dryRun);
}

AdminResponse ConfigApi::deleteDocuments(const AdminRequest& request) {
  config::ParseResult parsed;
  if (std::optional<AdminResponse> error = parseDocuments(request, parsed)) {
    return *error;
  }
  std::vector<config::ObjectKey> keys;
  for (const ConfigObject& object : parsed.objects) {
    keys.push_back(object.key);
  }
  const bool dryRun = flag(request, "dryRun");
  return writeResponse(
      store_.remove(std::move(keys),
                    {.dryRun = dryRun, .ignoreNotFound = flag(request, "ignoreNotFound")}),
      dryRun);
}

AdminResponse ConfigApi::writeResponse(const config::WriteResult& result, bool dryRun,
                                       int okStatus) {
  if (!result.ok()) {
    rejected_.inc();
    nlohmann::json body = statusJson(result.status, result.diagnostics);
    body["message"] = messageWithErrors(
        std::string_view(result.status.message().data(), result.status.message().size()),
        result.diagnostics);
    return jsonResponse(httpStatusFor(result.status), body);
  }
  if (!dryRun) {
    accepted_.inc();
  }
  return jsonResponse(okStatus, writeResultJson(result, dryRun));
}

} // namespace meshd::control::api
