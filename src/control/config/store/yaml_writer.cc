// toYaml (yaml_writer.h) with yaml-cpp's emitter, which does not throw while emitting.
#include "control/config/store/yaml_writer.h"

#include <regex>

#include "yaml-cpp/yaml.h"

namespace meshd::control::config {
namespace {

// True when core/yaml_json.h would read `text` as a plain scalar into something other than this
// string (null, a boolean or a number), so it must be quoted.
bool needsQuotes(const std::string& text) {
  static const std::regex kNonString(
      R"(^(|~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|)"
      R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)$)");
  return std::regex_match(text, kNonString);
}

void emit(YAML::Emitter& out, const nlohmann::json& value) {
  switch (value.type()) {
  case nlohmann::json::value_t::object:
    out << YAML::BeginMap;
    for (const auto& [key, item] : value.items()) {
      out << YAML::Key << key << YAML::Value;
      emit(out, item);
    }
    out << YAML::EndMap;
    return;
  case nlohmann::json::value_t::array:
    out << YAML::BeginSeq;
    for (const nlohmann::json& item : value) {
      emit(out, item);
    }
    out << YAML::EndSeq;
    return;
  case nlohmann::json::value_t::string:
    if (needsQuotes(value.get_ref<const std::string&>())) {
      out << YAML::DoubleQuoted;
    }
    out << value.get_ref<const std::string&>();
    return;
  case nlohmann::json::value_t::null:
  case nlohmann::json::value_t::discarded: out << YAML::Null; return;
  default:
    // Numbers and booleans in JSON's spelling, which the YAML core schema reads back the same.
    out << value.dump();
    return;
  }
}

} // namespace

std::string toYaml(const nlohmann::json& value) {
  YAML::Emitter out;
  out.SetMapFormat(YAML::Block);
  out.SetSeqFormat(YAML::Block);
  emit(out, value);
  std::string text = out.c_str();
  if (!text.empty() && text.back() != '\n') {
    text += '\n';
  }
  return text;
}

} // namespace meshd::control::config
