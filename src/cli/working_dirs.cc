// Absolute LocalWorkload working directories for applied files (working_dirs.h).
#include "cli/working_dirs.h"

#include <filesystem>

#include "core/yaml_json.h"
#include "nlohmann/json.hpp"

namespace meshd::cli {

std::optional<std::string> withAbsoluteWorkingDirs(const InputFile& file) {
  if (file.text.find("LocalWorkload") == std::string::npos) {
    return std::nullopt;
  }
  absl::StatusOr<std::vector<std::string>> documents = core::yamlDocumentsToJson(file.text);
  if (!documents.ok()) {
    return std::nullopt;
  }
  std::error_code ec;
  const bool fromStdin = file.name == "-" || file.name.empty() || file.name.starts_with("<");
  const std::filesystem::path base = fromStdin
                                         ? std::filesystem::current_path(ec)
                                         : std::filesystem::absolute(file.name, ec).parent_path();
  std::string out;
  bool changed = false;
  for (const std::string& text : *documents) {
    nlohmann::json document = nlohmann::json::parse(text, nullptr, false);
    if (document.is_object() && document.value("kind", "") == "LocalWorkload" &&
        document.contains("spec") && document["spec"].is_object()) {
      nlohmann::json& spec = document["spec"];
      const std::string dir = spec.value("workingDir", "");
      if (dir.empty() || std::filesystem::path(dir).is_relative()) {
        spec["workingDir"] = (dir.empty() ? base : (base / dir).lexically_normal()).string();
        changed = true;
      }
    }
    if (!out.empty()) {
      out += "---\n";
    }
    out += document.dump() + "\n";
  }
  if (!changed) {
    return std::nullopt;
  }
  return out;
}

} // namespace meshd::cli
