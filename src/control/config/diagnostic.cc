// Diagnostic formatting and construction (diagnostic.h).
#include "control/config/diagnostic.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "fmt/format.h"

namespace meshd::control::config {
namespace {

std::string unescapeToken(std::string_view token) {
  std::string out;
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '~' && i + 1 < token.size()) {
      out += token[i + 1] == '1' ? '/' : '~';
      ++i;
    } else {
      out += token[i];
    }
  }
  return out;
}

Diagnostic diagnosticAt(Diagnostic::Severity severity, const ConfigObject& object,
                        const std::string& pointer, std::string message) {
  return Diagnostic{severity,
                    object.file,
                    object.lineOf(pointer),
                    object.key,
                    fieldPathFromPointer(pointer),
                    std::move(message)};
}

} // namespace

std::string Diagnostic::toString() const {
  std::string out;
  if (!file.empty()) {
    out += line > 0 ? fmt::format("{}:{}: ", file, line) : fmt::format("{}: ", file);
  } else if (line > 0) {
    out += fmt::format("line {}: ", line);
  }
  out += severity == Severity::kError ? "error: " : "warning: ";
  if (!object.name.empty()) {
    out += object.toString() + ": ";
  }
  if (!field.empty()) {
    out += field + ": ";
  }
  out += message;
  return out;
}

bool hasErrors(const std::vector<Diagnostic>& diagnostics) {
  return std::any_of(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  });
}

std::string fieldPathFromPointer(const std::string& pointer) {
  std::string path;
  size_t start = 1;
  while (start <= pointer.size() && !pointer.empty()) {
    size_t end = pointer.find('/', start);
    if (end == std::string::npos) {
      end = pointer.size();
    }
    const std::string token = unescapeToken(std::string_view(pointer).substr(start, end - start));
    const bool index = !token.empty() && std::all_of(token.begin(), token.end(), [](char c) {
      return absl::ascii_isdigit(static_cast<unsigned char>(c));
    });
    if (index) {
      path += "[" + token + "]";
    } else {
      path += (path.empty() ? "" : ".") + token;
    }
    start = end + 1;
  }
  return path;
}

Diagnostic errorAt(const ConfigObject& object, const std::string& pointer, std::string message) {
  return diagnosticAt(Diagnostic::Severity::kError, object, pointer, std::move(message));
}

Diagnostic warningAt(const ConfigObject& object, const std::string& pointer, std::string message) {
  return diagnosticAt(Diagnostic::Severity::kWarning, object, pointer, std::move(message));
}

} // namespace meshd::control::config
