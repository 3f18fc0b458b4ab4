// The xDS server's debug state as JSON (see debug_json.h).
#include "control/xds/debug_json.h"

#include <algorithm>
#include <string>

#include "fmt/chrono.h"
#include "fmt/format.h"
#include "google/protobuf/util/json_util.h"

namespace meshd::control::xds {
namespace {

// UTC, millisecond precision: "2026-11-26T06:30:00.123Z".
std::string timestamp(core::SystemTime time) {
  auto millis = std::chrono::time_point_cast<std::chrono::milliseconds>(time);
  auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(millis);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", seconds,
                     static_cast<int>((millis - seconds).count()));
}

nlohmann::json nodeJson(const envoy::config::core::v3::Node& node) {
  std::string text;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(node, &text, options).ok()) {
    return nlohmann::json{{"id", node.id()}};
  }
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? nlohmann::json{{"id", node.id()}} : parsed;
}

nlohmann::json typeJson(const TypeInfo& type) {
  nlohmann::json json = {
      {"type_url", type.typeUrl},
      {"wildcard", type.wildcard},
      {"names", type.names},
      {"last_version_sent", type.lastVersionSent},
      {"last_nonce_sent", type.lastNonceSent},
      {"last_acked_version", type.lastAckedVersion},
      {"acks", type.acks},
      {"nacks", type.nacks},
      {"resources_held", type.resourcesHeld},
      {"in_sync", !type.lastVersionSent.empty() && type.lastAckedVersion == type.lastVersionSent},
  };
  if (type.lastNack.has_value()) {
    json["last_nack"] = {{"version", type.lastNack->version},
                         {"nonce", type.lastNack->nonce},
                         {"message", type.lastNack->message},
                         {"code", type.lastNack->code},
                         {"time", timestamp(type.lastNack->time)}};
  }
  return json;
}

} // namespace

nlohmann::json toJson(const StreamInfo& stream) {
  nlohmann::json types = nlohmann::json::array();
  for (const TypeInfo& type : stream.types) {
    types.push_back(typeJson(type));
  }
  return {{"stream_id", stream.id},
          {"protocol", stream.delta ? "delta" : "sotw"},
          {"node", nodeJson(stream.node)},
          {"connected_at", timestamp(stream.connectedAt)},
          {"types", std::move(types)}};
}

nlohmann::json toJson(const std::vector<StreamInfo>& streams) {
  std::vector<const StreamInfo*> ordered;
  for (const StreamInfo& stream : streams) {
    ordered.push_back(&stream);
  }
  std::sort(ordered.begin(), ordered.end(),
            [](const StreamInfo* a, const StreamInfo* b) { return a->id < b->id; });
  nlohmann::json json = nlohmann::json::array();
  for (const StreamInfo* stream : ordered) {
    json.push_back(toJson(*stream));
  }
  return json;
}

} // namespace meshd::control::xds
