// Istio's MeshConfig (the `mesh` key of the `istio` ConfigMap, IstioOperator `meshConfig`) read
// from a YAML or JSON file into model::MeshConfig (docs/meshd.md "MeshConfig"). The fields meshd
// uses are validated strictly; Istio fields meshd does not use are accepted with a warning naming
// them, so a real mesh config loads; a field Istio does not have is an error.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/config/diagnostic.h"
#include "control/model/mesh_snapshot.h"

namespace meshd::control::model {

// Reads `text` (one YAML/JSON document; an empty one means "all defaults") over `base`: every
// field the document sets replaces base's value. Diagnostics name `file`, the field path and its
// line. nullopt when there is an error (the diagnostics say which).
std::optional<MeshConfig> parseMeshConfig(std::string_view text, const std::string& file,
                                          const MeshConfig& base,
                                          std::vector<config::Diagnostic>& diagnostics);

// The same for a file; a file that cannot be read is an error diagnostic. `text`, when given,
// receives the file's content ("" when unreadable).
std::optional<MeshConfig> loadMeshConfigFile(const std::filesystem::path& path,
                                             const MeshConfig& base,
                                             std::vector<config::Diagnostic>& diagnostics,
                                             std::string* text = nullptr);

// The MeshConfig meshd serves, as JSON with Istio's field names (for /debug/meshz).
nlohmann::json meshConfigJson(const MeshConfig& mesh);

} // namespace meshd::control::model
