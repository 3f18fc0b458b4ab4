// YAML to JSON conversion (yaml_json.h) with yaml-cpp, whose exceptions stop here.
#include "core/yaml_json.h"

#include <regex>
#include <sstream>

#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/yaml.h"

namespace meshd::core {
namespace {

// YAML 1.2 core schema forms of plain scalars.
bool isNull(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::optional<bool> asBool(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") {
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    return false;
  }
  return std::nullopt;
}

nlohmann::json scalarToJson(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  // yaml-cpp tags plain scalars "?" and quoted or block scalars "!".
  if (node.Tag() != "?") {
    return text;
  }
  if (isNull(text)) {
    return nullptr;
  }
  if (auto b = asBool(text)) {
    return *b;
  }
  static const std::regex kInteger("^[-+]?[0-9]+$");
  static const std::regex kFloat(R"(^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$)");
  if (std::regex_match(text, kInteger)) {
    // Keep integers exact: 64-bit values do not fit a double. Out-of-range ones stay strings,
    // which protobuf's JSON parser also accepts for integer fields (and rejects with a reason).
    try {
      return text[0] == '-' ? nlohmann::json(std::stoll(text)) : nlohmann::json(std::stoull(text));
    } catch (const std::out_of_range&) {
      return text;
    }
  }
  if (std::regex_match(text, kFloat)) {
    return std::stod(text);
  }
  return text;
}

// `lines`, when given, receives the 1-based line of every value, keyed by its JSON pointer.
absl::StatusOr<nlohmann::json> toJson(const YAML::Node& node, JsonLineMap* lines = nullptr,
                                      const std::string& pointer = "") {
  if (lines != nullptr) {
    (*lines)[pointer] = node.Mark().line + 1;
  }
  switch (node.Type()) {
  case YAML::NodeType::Null:
  case YAML::NodeType::Undefined: return nullptr;
  case YAML::NodeType::Scalar: return scalarToJson(node);
  case YAML::NodeType::Sequence: {
    nlohmann::json array = nlohmann::json::array();
    for (const auto& item : node) {
      auto value = lines == nullptr
                       ? toJson(item)
                       : toJson(item, lines, pointer + "/" + std::to_string(array.size()));
      if (!value.ok()) {
        return value.status();
      }
      array.push_back(std::move(*value));
    }
    return array;
  }
  case YAML::NodeType::Map: {
    nlohmann::json object = nlohmann::json::object();
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) {
        return absl::InvalidArgumentError(
            fmt::format("line {}, column {}: map keys must be scalars", entry.first.Mark().line + 1,
                        entry.first.Mark().column + 1));
      }
      const std::string key = entry.first.Scalar();
      if (object.contains(key)) {
        return absl::InvalidArgumentError(fmt::format("line {}, column {}: duplicate key '{}'",
                                                      entry.first.Mark().line + 1,
                                                      entry.first.Mark().column + 1, key));
      }
      auto value = lines == nullptr
                       ? toJson(entry.second)
                       : toJson(entry.second, lines, pointer + "/" + jsonPointerToken(key));
      if (!value.ok()) {
        return value.status();
      }
      if (lines != nullptr && entry.second.IsNull()) {
        // A key with no value has no mark of its own; point at the key.
        (*lines)[pointer + "/" + jsonPointerToken(key)] = entry.first.Mark().line + 1;
      }
      object[key] = std::move(*value);
    }
    return object;
  }
  }
  return nullptr;
}

absl::Status parseError(const YAML::Exception& e) {
  return absl::InvalidArgumentError(
      fmt::format("line {}, column {}: {}", e.mark.line + 1, e.mark.column + 1, e.msg));
}

} // namespace

std::string jsonPointerToken(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

absl::StatusOr<std::string> yamlToJson(std::string_view yaml) {
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    auto json = toJson(root);
    if (!json.ok()) {
      return json.status();
    }
    return json->dump();
  } catch (const YAML::Exception& e) {
    return parseError(e);
  }
}

namespace {

// Receives parser events and ignores them: only the number of documents matters.
class IgnoreEvents : public YAML::EventHandler {
public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// yaml-cpp 0.7's LoadAll never returns on some malformed flow input (`{"a",b},` is one, found by
// test/fuzz/config_fuzz): its parser reports the same empty document forever. A first pass counts
// the documents and gives up when there are more than the text could hold (every document after
// the first needs a "---" or "..." marker).
absl::Status checkParserTerminates(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  IgnoreEvents events;
  size_t documents = 0;
  while (parser.HandleNextDocument(events)) {
    if (++documents > text.size() / 3 + 1) {
      return absl::InvalidArgumentError(
          "not valid YAML: the parser makes no progress (a malformed flow collection?)");
    }
  }
  return absl::OkStatus();
}

} // namespace

absl::StatusOr<std::vector<std::string>> yamlDocumentsToJson(std::string_view yaml) {
  try {
    const std::string text(yaml);
    if (absl::Status terminates = checkParserTerminates(text); !terminates.ok()) {
      return terminates;
    }
    std::vector<std::string> documents;
    for (const YAML::Node& root : YAML::LoadAll(text)) {
      if (root.IsNull()) {
        continue;
      }
      auto json = toJson(root);
      if (!json.ok()) {
        return json.status();
      }
      documents.push_back(json->dump());
    }
    return documents;
  } catch (const YAML::Exception& e) {
    return parseError(e);
  }
}

absl::StatusOr<std::vector<LocatedJson>> yamlDocumentsWithLines(std::string_view yaml) {
  try {
    const std::string text(yaml);
    if (absl::Status terminates = checkParserTerminates(text); !terminates.ok()) {
      return terminates;
    }
    std::vector<LocatedJson> documents;
    for (const YAML::Node& root : YAML::LoadAll(text)) {
      if (root.IsNull()) {
        continue;
      }
      LocatedJson document;
      auto json = toJson(root, &document.lines);
      if (!json.ok()) {
        return json.status();
      }
      document.value = std::move(*json);
      documents.push_back(std::move(document));
    }
    return documents;
  } catch (const YAML::Exception& e) {
    return parseError(e);
  }
}

} // namespace meshd::core
