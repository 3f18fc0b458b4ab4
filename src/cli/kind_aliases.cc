// Kind names and short forms (see kind_aliases.h).
#include "cli/kind_aliases.h"

#include <algorithm>
#include <array>
#include <utility>

#include "absl/strings/ascii.h"

namespace meshd::cli {
namespace {

// Short form → kind, as kubectl and istioctl spell them.
constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kShortForms = {{
    {"vs", "VirtualService"},
    {"dr", "DestinationRule"},
    {"gw", "Gateway"},
    {"se", "ServiceEntry"},
    {"we", "WorkloadEntry"},
    {"wg", "WorkloadGroup"},
    {"pa", "PeerAuthentication"},
    {"ap", "AuthorizationPolicy"},
    {"ra", "RequestAuthentication"},
    {"svc", "Service"},
    {"ns", "Namespace"},
    {"lw", "LocalWorkload"},
    {"sc", "Sidecar"},
    {"tm", "Telemetry"},
}};

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return absl::ascii_tolower(static_cast<unsigned char>(x)) ==
                  absl::ascii_tolower(static_cast<unsigned char>(y));
         });
}

} // namespace

const control::config::KindInfo* resolveKind(std::string_view name) {
  for (const auto& [shortForm, kind] : kShortForms) {
    if (equalsIgnoreCase(name, shortForm)) {
      return control::config::findKind(kind);
    }
  }
  if (const auto* kind = control::config::findKind(name)) {
    return kind;
  }
  // Singular lower case with a group suffix, as kubectl prints it: "virtualservice.networking...".
  const size_t dot = name.find('.');
  if (dot != std::string_view::npos) {
    const auto* kind = control::config::findKind(name.substr(0, dot));
    if (kind != nullptr && equalsIgnoreCase(name.substr(dot + 1), kind->group)) {
      return kind;
    }
  }
  return nullptr;
}

std::string qualifiedKindName(const control::config::KindInfo& kind) {
  std::string name = absl::AsciiStrToLower(std::string(kind.kind));
  if (!kind.group.empty()) {
    name += '.';
    name += kind.group;
  }
  return name;
}

std::string shortFormsHelp() {
  std::string help;
  for (const auto& [shortForm, kind] : kShortForms) {
    if (control::config::findKind(kind) == nullptr) {
      continue;
    }
    if (!help.empty()) {
      help += ", ";
    }
    help += shortForm;
  }
  return help;
}

} // namespace meshd::cli
