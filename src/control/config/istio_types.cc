// Parsing by kind (istio_types.h).
#include "control/config/istio_types.h"

#include <functional>
#include <map>
#include <string_view>

namespace meshd::control::config {
namespace {

using Parser =
    std::function<std::optional<TypedObject>(const ConfigObject&, std::vector<Diagnostic>&)>;

template <class T>
Parser wrap(std::optional<T> (*parse)(const ConfigObject&, std::vector<Diagnostic>&)) {
  return [parse](const ConfigObject& object,
                 std::vector<Diagnostic>& out) -> std::optional<TypedObject> {
    std::optional<T> value = parse(object, out);
    if (!value) {
      return std::nullopt;
    }
    return TypedObject(std::move(*value));
  };
}

const std::map<std::string_view, Parser>& parsers() {
  static const std::map<std::string_view, Parser> kParsers = {
      {"VirtualService", wrap(parseVirtualService)},
      {"DestinationRule", wrap(parseDestinationRule)},
      {"Gateway", wrap(parseGateway)},
      {"ServiceEntry", wrap(parseServiceEntry)},
      {"Sidecar", wrap(parseSidecar)},
      {"WorkloadEntry", wrap(parseWorkloadEntry)},
      {"WorkloadGroup", wrap(parseWorkloadGroup)},
      {"PeerAuthentication", wrap(parsePeerAuthentication)},
      {"AuthorizationPolicy", wrap(parseAuthorizationPolicy)},
      {"RequestAuthentication", wrap(parseRequestAuthentication)},
      {"Telemetry", wrap(parseTelemetry)},
      {"Service", wrap(parseKubeService)},
      {"Namespace", wrap(parseKubeNamespace)},
      {"LocalWorkload", wrap(parseLocalWorkload)},
  };
  return kParsers;
}

} // namespace

std::optional<TypedObject> parseTyped(const ConfigObject& object, std::vector<Diagnostic>& out) {
  auto it = parsers().find(object.key.kind);
  if (it == parsers().end()) {
    out.push_back(errorAt(object, "/kind", "kind '" + object.key.kind + "' has no typed model"));
    return std::nullopt;
  }
  return it->second(object, out);
}

} // namespace meshd::control::config
