// meshctl validate and analyze (see check_commands.h).
#include "cli/check_commands.h"

#include <algorithm>
#include <map>

#include "control/config/istio_validator.h"
#include "control/config/object_parser.h"
#include "fmt/format.h"

namespace meshd::cli {
namespace {

namespace config = control::config;

struct Parsed {
  std::vector<config::ConfigObject> objects;
  std::vector<config::Diagnostic> diagnostics;
};

absl::StatusOr<Parsed> parseFiles(const std::vector<std::string>& paths, const std::string& ns,
                                  std::istream& in) {
  absl::StatusOr<std::vector<InputFile>> files = readInputs(paths, in);
  if (!files.ok()) {
    return files.status();
  }
  Parsed parsed;
  for (const InputFile& file : *files) {
    config::ParseResult result = config::parseObjects(file.text, file.name, ns);
    std::move(result.objects.begin(), result.objects.end(), std::back_inserter(parsed.objects));
    std::move(result.diagnostics.begin(), result.diagnostics.end(),
              std::back_inserter(parsed.diagnostics));
  }
  return parsed;
}

// Prints the findings and a summary; the exit code they mean.
int report(Context& ctx, const std::vector<config::Diagnostic>& diagnostics, size_t objects,
           const std::string& scope) {
  size_t errors = 0;
  for (const config::Diagnostic& diagnostic : diagnostics) {
    ctx.out << diagnostic.toString() << "\n";
    errors += diagnostic.severity == config::Diagnostic::Severity::kError ? 1 : 0;
  }
  const size_t warnings = diagnostics.size() - errors;
  if (diagnostics.empty()) {
    ctx.out << fmt::format("No validation issues found in {} ({} object{}).\n", scope, objects,
                           objects == 1 ? "" : "s");
  } else {
    ctx.out << fmt::format("{} error{}, {} warning{} in {} ({} object{}).\n", errors,
                           errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s", scope,
                           objects, objects == 1 ? "" : "s");
  }
  return errors > 0 ? kExitFailed : kExitOk;
}

} // namespace

std::vector<config::Diagnostic> checkObjects(const std::vector<config::ConfigObject>& objects) {
  std::vector<config::Diagnostic> diagnostics = config::IstioValidator().validate(objects, objects);
  std::stable_sort(diagnostics.begin(), diagnostics.end(),
                   [](const config::Diagnostic& a, const config::Diagnostic& b) {
                     return std::tie(a.file, a.line, a.object) < std::tie(b.file, b.line, b.object);
                   });
  return diagnostics;
}

int runValidate(Context& ctx, const CheckOptions& options, std::istream& in) {
  absl::StatusOr<Parsed> parsed = parseFiles(options.files, ctx.options.ns, in);
  if (!parsed.ok()) {
    return reportError(ctx, parsed.status());
  }
  std::vector<config::Diagnostic> diagnostics = std::move(parsed->diagnostics);
  for (config::Diagnostic& diagnostic : checkObjects(parsed->objects)) {
    diagnostics.push_back(std::move(diagnostic));
  }
  return report(ctx, diagnostics, parsed->objects.size(), "the given files");
}

int runAnalyze(Context& ctx, const CheckOptions& options, std::istream& in) {
  absl::StatusOr<Parsed> parsed = parseFiles(options.files, ctx.options.ns, in);
  if (!parsed.ok()) {
    return reportError(ctx, parsed.status());
  }
  const MeshdCall response = callMeshd(ctx, "GET", "/debug/configz");
  if (!response) {
    return response.exitCode;
  }
  if (response->status != 200 || !response->body.is_object()) {
    ctx.err << "meshctl: cannot read meshd's config: " << errorMessage(*response.response) << "\n";
    return kExitFailed;
  }
  // The live objects, replaced by the files' versions of the same objects (as if applied).
  std::map<config::ObjectKey, config::ConfigObject> merged;
  for (const auto& item : response->body.value("items", nlohmann::json::array())) {
    config::ParseResult live = config::parseObject(item, ctx.options.ns);
    for (config::ConfigObject& object : live.objects) {
      merged[object.key] = std::move(object);
    }
  }
  for (config::ConfigObject& object : parsed->objects) {
    merged[object.key] = std::move(object);
  }
  std::vector<config::ConfigObject> objects;
  for (auto& [key, object] : merged) {
    objects.push_back(std::move(object));
  }
  std::vector<config::Diagnostic> diagnostics = std::move(parsed->diagnostics);
  for (config::Diagnostic& diagnostic : checkObjects(objects)) {
    // Like istioctl analyze: one namespace unless -A (cluster-scoped objects always count).
    if (ctx.options.allNamespaces || diagnostic.object.ns.empty() ||
        diagnostic.object.ns == ctx.options.ns) {
      diagnostics.push_back(std::move(diagnostic));
    }
  }
  const std::string scope = ctx.options.allNamespaces ? std::string("all namespaces")
                                                      : fmt::format("namespace {}", ctx.options.ns);
  return report(ctx, diagnostics, objects.size(), scope);
}

} // namespace meshd::cli
