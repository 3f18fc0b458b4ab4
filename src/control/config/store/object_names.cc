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

// RFC 6901 escaping of one reference token.
std::string pointerToken(const std::string& key) {
  std::string out;
  for (char c : key) {
    out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  }
  return out;
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

bool isValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    size_t length = 0;
    uint32_t codePoint = 0;
    if (byte < 0x80) {
      ++i;
      continue;
    } else if ((byte & 0xE0) == 0xC0) {
      length = 2;
      codePoint = byte & 0x1F;
    } else if ((byte & 0xF0) == 0xE0) {
      length = 3;
      codePoint = byte & 0x0F;
    } else if ((byte & 0xF8) == 0xF0) {
      length = 4;
      codePoint = byte & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) {
      return false;
    }
    for (size_t k = 1; k < length; ++k) {
      const auto continuation = static_cast<unsigned char>(text[i + k]);
      if ((continuation & 0xC0) != 0x80) {
        return false;
      }
      codePoint = (codePoint << 6) | (continuation & 0x3F);
    }
    static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (codePoint < kSmallest[length] || codePoint > 0x10FFFF ||
        (codePoint >= 0xD800 && codePoint <= 0xDFFF)) {
      return false; // overlong, beyond Unicode, or a surrogate
    }
    i += length;
  }
  return true;
}

std::optional<std::string> findInvalidUtf8(const nlohmann::json& value) {
  if (value.is_string()) {
    return isValidUtf8(value.get_ref<const std::string&>()) ? std::nullopt
                                                            : std::optional<std::string>("");
  }
  if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) {
      if (auto inner = findInvalidUtf8(value[i])) {
        return "/" + std::to_string(i) + *inner;
      }
    }
  }
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      std::optional<std::string> inner =
          isValidUtf8(key) ? findInvalidUtf8(item) : std::optional<std::string>("");
      if (inner.has_value()) {
        return "/" + pointerToken(key) + *inner;
      }
    }
  }
  return std::nullopt;
}

} // namespace meshd::control::config
