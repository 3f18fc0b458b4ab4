// Loads an Envoy v3 Bootstrap from a YAML or JSON file and checks that mesh-proxy supports
// everything it sets.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb.h"

namespace meshd::proxy::config {

using envoy::config::bootstrap::v3::Bootstrap;

// `source` names the input in error messages (the file name).
absl::StatusOr<Bootstrap> parseBootstrap(std::string_view text, std::string_view source);
absl::StatusOr<Bootstrap> loadBootstrapFile(const std::string& path);

// Any Envoy message from YAML or JSON text, as strictly as a bootstrap: unknown fields are errors
// and everything set must be supported. `what` names the message kind in errors.
absl::Status parseEnvoyMessage(std::string_view text, std::string_view source,
                               std::string_view what, google::protobuf::Message& message);
absl::StatusOr<std::string> readFile(const std::string& path);

} // namespace meshd::proxy::config
