// DestinationRule parsing and Istio's checks for it (destination_rule.h).
#include "control/config/networking/destination_rule.h"

#include <algorithm>
#include <set>

#include "fmt/format.h"

namespace meshd::control::config {
namespace {

std::optional<Subset> readSubset(ReadContext& ctx, const nlohmann::json& value,
                                 const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"name", "labels", "trafficPolicy"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  Subset subset;
  subset.name = readDnsLabel(reader, "name", "subset name", /*required=*/true);
  subset.labels = readLabels(reader, "labels");
  subset.trafficPolicy = reader.message("trafficPolicy", readTrafficPolicy);
  return subset;
}

} // namespace

std::optional<DestinationRule> parseDestinationRule(const ConfigObject& object,
                                                    std::vector<Diagnostic>& out) {
  return parseKind<DestinationRule>(object, out, [&](ReadContext& ctx, DestinationRule& rule) {
    const MessageReader spec =
        readSpec(ctx, {"host", "trafficPolicy", "subsets", "exportTo", "workloadSelector"});
    if (spec.require("host")) {
      rule.host = spec.string("host").value_or("");
      if (std::string error = checkWildcardHost(rule.host); !error.empty()) {
        spec.error("host", std::move(error));
      }
    }
    rule.trafficPolicy = spec.message("trafficPolicy", readTrafficPolicy);
    rule.subsets = spec.list("subsets", readSubset);
    std::set<std::string> names;
    for (size_t i = 0; i < rule.subsets.size(); ++i) {
      if (!names.insert(rule.subsets[i].name).second) {
        ctx.error(childPointer(childPointer(spec.pointer("subsets"), std::to_string(i)), "name"),
                  fmt::format("duplicate subset name '{}'", rule.subsets[i].name));
      }
    }
    rule.exportTo = readExportTo(spec);
    rule.workloadSelector = readSelector(spec, "workloadSelector", "matchLabels");
    const bool onlyOwnNamespace =
        std::all_of(rule.exportTo.begin(), rule.exportTo.end(),
                    [&](const std::string& to) { return to == "." || to == rule.meta.ns; });
    if (rule.workloadSelector && !onlyOwnNamespace) {
      spec.error("exportTo", "a DestinationRule with a workloadSelector can only be exported to "
                             "its own namespace");
    }
  });
}

} // namespace meshd::control::config
