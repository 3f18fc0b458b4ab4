// meshctl apply, delete and get (see config_commands.h).
#include "cli/config_commands.h"

#include "absl/strings/str_join.h"
#include "cli/kind_aliases.h"
#include "cli/table.h"
#include "cli/working_dirs.h"
#include "fmt/format.h"

namespace meshd::cli {
namespace {

std::string writeTarget(const char* verb, const Context& ctx, const InputFile& file, bool dryRun) {
  std::string target = fmt::format("/apis/v1/{}?namespace={}&file={}", verb,
                                   urlEncode(ctx.options.ns), urlEncode(file.name));
  if (dryRun) {
    target += "&dryRun=true";
  }
  return target;
}

// "virtualservice.networking.istio.io/reviews created".
void printItems(Context& ctx, const nlohmann::json& result, bool dryRun) {
  for (const auto& item : result.value("items", nlohmann::json::array())) {
    const std::string kind = item.value("kind", "");
    const auto* info = resolveKind(kind);
    ctx.out << (info != nullptr ? qualifiedKindName(*info) : kind) << "/" << item.value("name", "")
            << " " << item.value("action", "") << (dryRun ? " (dry run)" : "") << "\n";
  }
}

void printDiagnostics(std::ostream& stream, const nlohmann::json& diagnostics,
                      std::string_view prefix) {
  if (!diagnostics.is_array()) {
    return;
  }
  for (const auto& diagnostic : diagnostics) {
    stream << prefix << diagnostic.value("text", diagnostic.value("message", "")) << "\n";
  }
}

// A rejected write: the reason, then every diagnostic (they hold file:line).
void printRejection(Context& ctx, const InputFile& file, const ApiResponse& response) {
  const nlohmann::json diagnostics =
      response.body.is_object() ? response.body.value("diagnostics", nlohmann::json::array())
                                : nlohmann::json::array();
  std::string message = errorMessage(response);
  if (!diagnostics.empty()) {
    message = message.substr(0, message.find('\n'));
  }
  ctx.err << "meshctl: " << file.name << " was rejected: " << message << "\n";
  printDiagnostics(ctx.err, diagnostics, "");
}

// Sends every file to `verb` (apply or delete); 0 when all were accepted.
int writeFiles(Context& ctx, const char* verb, const std::vector<std::string>& paths, bool dryRun,
               const std::string& extraQuery, std::istream& in) {
  absl::StatusOr<std::vector<InputFile>> files = readInputs(paths, in);
  if (!files.ok()) {
    return reportError(ctx, files.status());
  }
  if (files->empty()) {
    ctx.err << "meshctl: no .yaml, .yml or .json files in " << absl::StrJoin(paths, ", ") << "\n";
    return kExitFailed;
  }
  int exit = kExitOk;
  for (const InputFile& file : *files) {
    // LocalWorkload directories are relative to the file; a file rewritten for that is checked
    // as written first, so that diagnostics name its own lines.
    const std::optional<std::string> rewritten =
        std::string_view(verb) == "apply" ? withAbsoluteWorkingDirs(file) : std::nullopt;
    if (rewritten && !dryRun) {
      const MeshdCall check =
          callMeshd(ctx, "POST", writeTarget(verb, ctx, file, true) + extraQuery, file.text);
      if (!check) {
        return check.exitCode;
      }
      if (check->status != 200) {
        printRejection(ctx, file, *check.response);
        exit = kExitFailed;
        continue;
      }
    }
    const MeshdCall response =
        callMeshd(ctx, "POST", writeTarget(verb, ctx, file, dryRun) + extraQuery,
                  rewritten ? *rewritten : file.text);
    if (!response) {
      return response.exitCode;
    }
    if (response->status != 200) {
      printRejection(ctx, file, *response.response);
      exit = kExitFailed;
      continue;
    }
    printItems(ctx, response->body, dryRun);
    printDiagnostics(ctx.err, response->body.value("diagnostics", nlohmann::json::array()),
                     "Warning: ");
  }
  return exit;
}

std::string objectPath(const control::config::KindInfo& kind, const std::string& ns,
                       const std::string& name, bool allNamespaces) {
  std::string path = "/apis/v1/";
  if (kind.namespaced && !allNamespaces) {
    path += "namespaces/" + urlEncode(ns) + "/";
  }
  path += std::string(kind.plural);
  if (!name.empty()) {
    path += "/" + urlEncode(name);
  }
  return path;
}

const control::config::KindInfo* kindOrReport(Context& ctx, const std::string& name) {
  const auto* kind = resolveKind(name);
  if (kind == nullptr) {
    ctx.err << "meshctl: unknown kind '" << name
            << "' (try a kind like VirtualService, its plural, "
            << "or a short form: " << shortFormsHelp() << ")\n";
  }
  return kind;
}

std::string joinStrings(const nlohmann::json& values) {
  std::vector<std::string> parts;
  if (values.is_array()) {
    for (const auto& value : values) {
      if (value.is_string()) {
        parts.push_back(value.get<std::string>());
      }
    }
  }
  return absl::StrJoin(parts, ",");
}

// Kind-specific columns, cheap to compute from the spec.
struct ExtraColumns {
  std::vector<std::string> headers;
  std::vector<std::string> (*cells)(const nlohmann::json& spec);
};

ExtraColumns extraColumnsFor(std::string_view kind) {
  if (kind == "VirtualService") {
    return {{"GATEWAYS", "HOSTS"}, [](const nlohmann::json& spec) {
              return std::vector<std::string>{joinStrings(spec.value("gateways", nlohmann::json())),
                                              joinStrings(spec.value("hosts", nlohmann::json()))};
            }};
  }
  if (kind == "DestinationRule") {
    return {{"HOST"}, [](const nlohmann::json& spec) {
              return std::vector<std::string>{spec.value("host", "")};
            }};
  }
  if (kind == "ServiceEntry") {
    return {{"HOSTS", "LOCATION", "RESOLUTION"}, [](const nlohmann::json& spec) {
              return std::vector<std::string>{joinStrings(spec.value("hosts", nlohmann::json())),
                                              spec.value("location", ""),
                                              spec.value("resolution", "")};
            }};
  }
  return {{}, nullptr};
}

} // namespace

std::string renderObjectTable(const nlohmann::json& items, std::string_view kind, bool namespaced) {
  const ExtraColumns extra = extraColumnsFor(kind);
  std::vector<std::string> headers = {"NAME"};
  if (namespaced) {
    headers.push_back("NAMESPACE");
  }
  headers.insert(headers.end(), extra.headers.begin(), extra.headers.end());
  headers.push_back("VERSION");
  Table table(headers);
  for (const auto& item : items) {
    const nlohmann::json metadata = item.value("metadata", nlohmann::json::object());
    std::vector<std::string> row = {metadata.value("name", "")};
    if (namespaced) {
      row.push_back(metadata.value("namespace", ""));
    }
    if (extra.cells != nullptr) {
      const nlohmann::json spec = item.value("spec", nlohmann::json::object());
      for (std::string& cell : extra.cells(spec.is_object() ? spec : nlohmann::json::object())) {
        row.push_back(std::move(cell));
      }
    }
    row.push_back(metadata.value("resourceVersion", ""));
    table.addRow(std::move(row));
  }
  return table.render();
}

int runApply(Context& ctx, const ApplyOptions& options, std::istream& in) {
  return writeFiles(ctx, "apply", options.files, options.dryRun, "", in);
}

int runDelete(Context& ctx, const DeleteOptions& options, std::istream& in) {
  const std::string extraQuery = options.ignoreNotFound ? "&ignoreNotFound=true" : "";
  if (!options.files.empty()) {
    return writeFiles(ctx, "delete", options.files, options.dryRun, extraQuery, in);
  }
  const auto* kind = kindOrReport(ctx, options.kind);
  if (kind == nullptr) {
    return kExitUsage;
  }
  std::string target = objectPath(*kind, ctx.options.ns, options.name, false);
  if (options.dryRun) {
    target += "?dryRun=true";
  }
  const MeshdCall response = callMeshd(ctx, "DELETE", target);
  if (!response) {
    return response.exitCode;
  }
  if (response->status == 404 && options.ignoreNotFound) {
    return kExitOk;
  }
  if (response->status != 200) {
    ctx.err << "meshctl: cannot delete " << qualifiedKindName(*kind) << "/" << options.name << ": "
            << errorMessage(*response.response) << "\n";
    return kExitFailed;
  }
  printItems(ctx, response->body, options.dryRun);
  return kExitOk;
}

int runGet(Context& ctx, const GetOptions& options) {
  const auto* kind = kindOrReport(ctx, options.kind);
  if (kind == nullptr) {
    return kExitUsage;
  }
  const bool all = ctx.options.allNamespaces && options.name.empty();
  const MeshdCall response =
      callMeshd(ctx, "GET", objectPath(*kind, ctx.options.ns, options.name, all));
  if (!response) {
    return response.exitCode;
  }
  if (response->status != 200) {
    ctx.err << "meshctl: " << errorMessage(*response.response) << "\n";
    return kExitFailed;
  }
  if (ctx.options.output == "json" || ctx.options.output == "yaml") {
    ctx.out << formatStructured(response->body, ctx.options.output);
    return kExitOk;
  }
  const nlohmann::json items = options.name.empty()
                                   ? response->body.value("items", nlohmann::json::array())
                                   : nlohmann::json::array({response->body});
  if (items.empty()) {
    ctx.err << "No " << kind->plural << " found"
            << (kind->namespaced && !all ? " in namespace " + ctx.options.ns : std::string())
            << ".\n";
    return kExitOk;
  }
  ctx.out << renderObjectTable(items, kind->kind, kind->namespaced);
  return kExitOk;
}

} // namespace meshd::cli
