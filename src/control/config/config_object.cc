// ObjectKey and ConfigObject helpers (config_object.h).
#include "control/config/config_object.h"

#include "fmt/format.h"

namespace meshd::control::config {

std::string ObjectKey::toString() const {
  return ns.empty() ? fmt::format("{} {}", kind, name) : fmt::format("{} {}/{}", kind, ns, name);
}

int ConfigObject::lineOf(const std::string& pointer) const {
  std::string path = pointer;
  while (true) {
    if (auto it = lines.find(path); it != lines.end()) {
      return it->second;
    }
    if (path.empty()) {
      return 0;
    }
    path.erase(path.rfind('/'));
  }
}

const nlohmann::json& ConfigObject::spec() const {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  auto it = json.find("spec");
  return it != json.end() && it->is_object() ? *it : kEmpty;
}

} // namespace meshd::control::config
