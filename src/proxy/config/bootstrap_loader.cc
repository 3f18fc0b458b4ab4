// Bootstrap loading (bootstrap_loader.h): YAML -> JSON -> proto (strict: unknown fields are
// errors), then the supported-fields check.
#include "proxy/config/bootstrap_loader.h"

#include <fstream>
#include <sstream>

#include "core/status.h"
#include "core/yaml_json.h"
#include "fmt/format.h"
#include "google/protobuf/util/json_util.h"
#include "proxy/config/supported_fields.h"

namespace meshd::proxy::config {

absl::StatusOr<Bootstrap> parseBootstrap(std::string_view text, std::string_view source) {
  auto json = core::yamlToJson(text);
  if (!json.ok()) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", source, json.status().message()));
  }
  Bootstrap bootstrap;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto parsed = google::protobuf::util::JsonStringToMessage(*json, &bootstrap, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(fmt::format("{}: not a valid Envoy v3 Bootstrap: {}", source,
                                                  parsed.message().as_string()));
  }
  const absl::Status supported = checkSupportedFields(bootstrap);
  if (!supported.ok()) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", source, supported.message()));
  }
  return bootstrap;
}

absl::StatusOr<Bootstrap> loadBootstrapFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(fmt::format("cannot read bootstrap file '{}'", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parseBootstrap(text.str(), path);
}

} // namespace meshd::proxy::config
