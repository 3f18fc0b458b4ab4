// What mesh-proxy implements of the Envoy v3 API, as data: for each message type the fields it
// honours (and, for enums, the values). Config that sets anything else is rejected with the field
// path and the reason, never silently ignored. Extensions in `typed_config` are checked the same
// way after decoding them by type URL, so an unknown extension type is rejected too.
#pragma once

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace meshd::proxy::config {

// `root_path` prefixes the paths in error messages (e.g. "static_resources").
absl::Status checkSupportedFields(const google::protobuf::Message& message,
                                  const std::string& root_path = {});

} // namespace meshd::proxy::config
