// JSON values as YAML text, for the files FileConfigStore writes: block style, keys in the order
// the object has them, strings quoted where needed so that reading the file back (core/yaml_json.h,
// YAML 1.2 core schema) gives exactly the same JSON ("true", "080" and "1e3" stay strings).
#pragma once

#include <string>

#include "nlohmann/json.hpp"

namespace meshd::control::config {

std::string toYaml(const nlohmann::json& value);

} // namespace meshd::control::config
