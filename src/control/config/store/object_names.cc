// ObjectKey checks (object_names.h), by hand rather than with regexes: they run on every write.
#include "control/config/store/object_names.h"

#include "absl/strings/str_split.h"
#include "control/config/kinds.h"
#include "fmt/format.h"

namespace meshd::control::config {
namespace {

bool isAlphanumeric(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool isLabel(std::string_view label, size_t maxSize) {
  if (label.empty() || label.size() > maxSize || !isAlphanumeric(label.front()) ||
      !isAlphanumeric(label.back())) {
    return false;
  }
  for (char c : label) {
    if (!isAlphanumeric(c) && c != '-') {
      return false;
    }
  }
  return true;
}

} // namespace

bool isNamespaceName(std::string_view name) {
  return isLabel(name, 63);
}

bool isObjectName(std::string_view name) {
  if (name.empty() || name.size() > 253) {
    return false;
  }
  for (absl::string_view label : absl::StrSplit(absl::string_view(name.data(), name.size()), '.')) {
    if (!isLabel(std::string_view(label.data(), label.size()), 253)) {
      return false;
    }
  }
  return true;
}

absl::Status checkObjectKey(const ObjectKey& key) {
  const KindInfo* info = findKind(key.kind);
  if (info == nullptr || info->kind != key.kind) {
    return absl::InvalidArgumentError(fmt::format("unknown kind '{}'", key.kind));
  }
  if (info->namespaced && !isNamespaceName(key.ns)) {
    return absl::InvalidArgumentError(fmt::format(
        "'{}' is not a valid namespace (lowercase letters, digits and '-', at most 63)", key.ns));
  }
  if (!info->namespaced && !key.ns.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("{} is cluster-scoped and has no namespace", key.kind));
  }
  if (!isObjectName(key.name)) {
    return absl::InvalidArgumentError(fmt::format("'{}' is not a valid name", key.name));
  }
  return absl::OkStatus();
}

} // namespace meshd::control::config
