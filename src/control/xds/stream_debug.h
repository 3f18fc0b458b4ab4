// What the server can tell about its connected streams: node, per-type subscription, versions and
// nonces sent, the last ACK and the last NACK with its message. Plain copies, safe to keep.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/time_source.h"
#include "envoy/config/core/v3/base.pb.h"

namespace meshd::control::xds {

struct NackInfo {
  std::string version; // the version_info the client sent with the NACK (the one it keeps)
  std::string nonce;   // the nonce of the rejected response
  std::string message; // error_detail.message
  int32_t code = 0;    // error_detail.code
  core::SystemTime time;
};

struct TypeInfo {
  std::string typeUrl;
  bool wildcard = false;
  std::vector<std::string> names; // explicit subscriptions, sorted
  std::string lastVersionSent;
  std::string lastNonceSent;
  std::string lastAckedVersion;
  std::optional<NackInfo> lastNack;
  uint64_t acks = 0;
  uint64_t nacks = 0;
  size_t resourcesHeld = 0; // resources the client holds as far as the server knows
  std::map<std::string, std::string> heldVersions; // those resources: name → version
};

struct StreamInfo {
  uint64_t id = 0;
  bool delta = false;
  envoy::config::core::v3::Node node;
  core::SystemTime connectedAt;
  std::vector<TypeInfo> types; // in push order
};

} // namespace meshd::control::xds
