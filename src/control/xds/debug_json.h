// The xDS server's debug state as JSON, for meshd's debug endpoint and `meshctl proxy-status`:
// per stream the node, and per type the subscription, versions, nonces, ACKs and the last NACK.
#pragma once

#include <vector>

#include "control/xds/stream_debug.h"
#include "nlohmann/json.hpp"

namespace meshd::control::xds {

nlohmann::json toJson(const StreamInfo& stream);
// An array, one object per stream, ordered by stream id.
nlohmann::json toJson(const std::vector<StreamInfo>& streams);

} // namespace meshd::control::xds
