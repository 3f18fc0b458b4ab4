// PeerAuthentication parsing and Istio's checks for it (peer_authentication.h).
#include "control/config/security/peer_authentication.h"

#include "fmt/format.h"

namespace meshd::control::config {
namespace {

constexpr EnumName<MtlsMode> kModes[] = {
    {"UNSET", MtlsMode::kUnset},
    {"DISABLE", MtlsMode::kDisable},
    {"PERMISSIVE", MtlsMode::kPermissive},
    {"STRICT", MtlsMode::kStrict},
};

std::optional<MtlsMode> readMtls(ReadContext& ctx, const nlohmann::json& value,
                                 const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"mode"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  return reader.enumeration<MtlsMode>("mode", kModes).value_or(MtlsMode::kUnset);
}

} // namespace

std::optional<PeerAuthentication> parsePeerAuthentication(const ConfigObject& object,
                                                          std::vector<Diagnostic>& out) {
  return parseKind<PeerAuthentication>(
      object, out, [&](ReadContext& ctx, PeerAuthentication& policy) {
        const MessageReader spec = readSpec(ctx, {"selector", "mtls", "portLevelMtls"});
        policy.selector = readSelector(spec, "selector", "matchLabels");
        policy.mode = spec.message("mtls", readMtls);
        for (const auto& [port, mode] : spec.map("portLevelMtls", readMtls)) {
          const std::string pointer = childPointer(spec.pointer("portLevelMtls"), port);
          const bool digits = !port.empty() && port.size() <= 5 &&
                              port.find_first_not_of("0123456789") == std::string::npos;
          const int number = digits ? std::stoi(port) : 0;
          if (number < 1 || number > 65535) {
            ctx.error(pointer, fmt::format("'{}' is not a port number between 1 and 65535", port));
            continue;
          }
          policy.portLevelMtls.emplace(static_cast<uint32_t>(number), mode);
        }
        if (const nlohmann::json* ports = spec.raw("portLevelMtls");
            ports != nullptr && ports->is_object() && ports->empty()) {
          spec.error("portLevelMtls", "portLevelMtls, when given, needs at least one port");
        } else if (spec.has("portLevelMtls") && (!policy.selector || policy.selector->empty())) {
          spec.error("portLevelMtls",
                     "port level mTLS needs a selector (it cannot apply to a whole "
                     "namespace or the mesh)");
        }
      });
}

} // namespace meshd::control::config
