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

absl::Status parseEnvoyMessage(std::string_view text, std::string_view source,
                               std::string_view what, google::protobuf::Message& message) {
  auto json = core::yamlToJson(text);
  if (!json.ok()) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", source, json.status().message()));
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto parsed = google::protobuf::util::JsonStringToMessage(*json, &message, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: not a valid Envoy v3 {}: {}", source, what, parsed.message().as_string()));
  }
  const absl::Status supported = checkSupportedFields(message);
  if (!supported.ok()) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", source, supported.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<Bootstrap> parseBootstrap(std::string_view text, std::string_view source) {
  Bootstrap bootstrap;
  RETURN_IF_ERROR(parseEnvoyMessage(text, source, "Bootstrap", bootstrap));
  return bootstrap;
}

absl::StatusOr<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(fmt::format("cannot read '{}'", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<Bootstrap> loadBootstrapFile(const std::string& path) {
  auto text = readFile(path);
  if (!text.ok()) {
    return absl::NotFoundError(fmt::format("cannot read bootstrap file '{}'", path));
  }
  return parseBootstrap(*text, path);
}

} // namespace meshd::proxy::config
