// One Istio or Kubernetes API object as its author wrote it (apiVersion, kind, metadata, spec),
// with where it came from so that every later error can name the file, object and line. This is
// what the config store keeps and the REST API serves; typed views for translation are built from
// it (istio_types.h).
#pragma once

#include <compare>
#include <cstdint>
#include <string>

#include "core/yaml_json.h"
#include "nlohmann/json.hpp"

namespace meshd::control::config {

// Identity of an object in the store. `ns` is empty for cluster-scoped kinds (Namespace).
struct ObjectKey {
  std::string kind;
  std::string ns;
  std::string name;

  auto operator<=>(const ObjectKey&) const = default;
  bool operator==(const ObjectKey&) const = default;
  // "VirtualService default/reviews", "Namespace bookinfo".
  std::string toString() const;
};

struct ConfigObject {
  ObjectKey key;
  std::string apiVersion;  // as written, e.g. "networking.istio.io/v1beta1"
  nlohmann::json json;     // the whole object; metadata.namespace filled in when it was defaulted
  std::string file;        // source file ("" when it came from the REST API with no name)
  core::JsonLineMap lines; // JSON pointer → line in `file`; empty when not parsed from text
  int64_t resourceVersion = 0; // set by the store on every write

  // Line of the value at `pointer`, or of its nearest ancestor that has one (0 when unknown).
  int lineOf(const std::string& pointer) const;
  const nlohmann::json& spec() const;
};

} // namespace meshd::control::config
