// Telemetry parsing and Istio's checks for it (telemetry.h).
#include "control/config/telemetry/telemetry.h"

#include "fmt/format.h"

namespace meshd::control::config {
namespace {

constexpr EnumName<WorkloadMode> kModes[] = {
    {"CLIENT_AND_SERVER", WorkloadMode::kClientAndServer},
    {"CLIENT", WorkloadMode::kClient},
    {"SERVER", WorkloadMode::kServer},
};
constexpr EnumName<IstioMetric> kMetrics[] = {
    {"ALL_METRICS", IstioMetric::kAllMetrics},
    {"REQUEST_COUNT", IstioMetric::kRequestCount},
    {"REQUEST_DURATION", IstioMetric::kRequestDuration},
    {"REQUEST_SIZE", IstioMetric::kRequestSize},
    {"RESPONSE_SIZE", IstioMetric::kResponseSize},
    {"TCP_OPENED_CONNECTIONS", IstioMetric::kTcpOpenedConnections},
    {"TCP_CLOSED_CONNECTIONS", IstioMetric::kTcpClosedConnections},
    {"TCP_SENT_BYTES", IstioMetric::kTcpSentBytes},
    {"TCP_RECEIVED_BYTES", IstioMetric::kTcpReceivedBytes},
    {"GRPC_REQUEST_MESSAGES", IstioMetric::kGrpcRequestMessages},
    {"GRPC_RESPONSE_MESSAGES", IstioMetric::kGrpcResponseMessages},
};
constexpr EnumName<MetricTagOverride::Operation> kTagOperations[] = {
    {"UPSERT", MetricTagOverride::Operation::kUpsert},
    {"REMOVE", MetricTagOverride::Operation::kRemove},
};

std::vector<std::string> readProviders(const MessageReader& reader) {
  return reader.list("providers",
                     [](ReadContext& ctx, const nlohmann::json& value,
                        const std::string& pointer) -> std::optional<std::string> {
                       const MessageReader provider(ctx, value, pointer, {"name"});
                       if (!provider.require("name")) {
                         return std::nullopt;
                       }
                       return provider.nonEmpty("name");
                     });
}

WorkloadMode readMode(const MessageReader& reader) {
  return reader
      .message("match",
               [](ReadContext& ctx, const nlohmann::json& value, const std::string& pointer) {
                 return MessageReader(ctx, value, pointer, {"mode"})
                     .enumeration<WorkloadMode>("mode", kModes);
               })
      .value_or(WorkloadMode::kClientAndServer);
}

std::optional<TracingCustomTag> readCustomTag(ReadContext& ctx, const nlohmann::json& value,
                                              const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"literal", "environment", "header", "formatter"});
  const std::string_view kind =
      reader.oneOf({"literal", "environment", "header", "formatter"}, true);
  if (kind.empty()) {
    return std::nullopt;
  }
  TracingCustomTag tag;
  tag.kind = kind == "literal"       ? TracingCustomTag::Kind::kLiteral
             : kind == "environment" ? TracingCustomTag::Kind::kEnvironment
             : kind == "header"      ? TracingCustomTag::Kind::kHeader
                                     : TracingCustomTag::Kind::kFormatter;
  const bool named = kind == "environment" || kind == "header";
  reader.message(kind, [&](ReadContext& inner, const nlohmann::json& json, const std::string& at) {
    const std::string_view field = named ? "name" : "value";
    const MessageReader body(inner, json, at,
                             named ? std::initializer_list<std::string_view>{"name", "defaultValue"}
                                   : std::initializer_list<std::string_view>{"value"});
    if (body.require(field)) {
      tag.value = body.nonEmpty(field).value_or("");
    }
    tag.defaultValue = named ? body.string("defaultValue").value_or("") : "";
    return std::optional<bool>(true);
  });
  return tag;
}

std::optional<TracingConfig> readTracing(ReadContext& ctx, const nlohmann::json& value,
                                         const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer,
                             {"match", "providers", "randomSamplingPercentage",
                              "disableSpanReporting", "customTags", "useRequestIdForTraceSampling",
                              "enableIstioTags", "disableContextPropagation"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  TracingConfig tracing;
  tracing.mode = readMode(reader);
  tracing.providers = readProviders(reader);
  if (tracing.providers.size() > 1) {
    reader.warning("providers", "multiple tracing providers are not supported; the first is used");
  }
  tracing.randomSamplingPercentage = reader.number("randomSamplingPercentage", 0, 100);
  tracing.disableSpanReporting = reader.boolean("disableSpanReporting");
  tracing.customTags = reader.map("customTags", readCustomTag);
  tracing.useRequestIdForTraceSampling = reader.boolean("useRequestIdForTraceSampling");
  tracing.enableIstioTags = reader.boolean("enableIstioTags");
  tracing.disableContextPropagation = reader.boolean("disableContextPropagation");
  return tracing;
}

std::optional<MetricTagOverride> readTagOverride(ReadContext& ctx, const nlohmann::json& value,
                                                 const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"operation", "value"});
  MetricTagOverride tag;
  tag.operation = reader.enumeration<MetricTagOverride::Operation>("operation", kTagOperations)
                      .value_or(MetricTagOverride::Operation::kUpsert);
  tag.value = reader.string("value").value_or("");
  if (tag.operation == MetricTagOverride::Operation::kUpsert && tag.value.empty() && reader.ok()) {
    reader.error("value", "UPSERT needs a value");
  } else if (tag.operation == MetricTagOverride::Operation::kRemove && reader.has("value")) {
    reader.error("value", "REMOVE takes no value");
  }
  return tag;
}

std::optional<MetricsOverride> readOverride(ReadContext& ctx, const nlohmann::json& value,
                                            const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"match", "disabled", "tagOverrides"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  MetricsOverride override_;
  reader.message("match", [&override_](ReadContext& inner, const nlohmann::json& json,
                                       const std::string& at) {
    const MessageReader match(inner, json, at, {"metric", "customMetric", "mode"});
    match.oneOf({"metric", "customMetric"});
    override_.metric = match.enumeration<IstioMetric>("metric", kMetrics);
    override_.customMetric = match.string("customMetric").value_or("");
    if (match.has("customMetric") && override_.customMetric.empty()) {
      match.error("customMetric", "customMetric must not be empty");
    }
    override_.mode =
        match.enumeration<WorkloadMode>("mode", kModes).value_or(WorkloadMode::kClientAndServer);
    return std::optional<bool>(true);
  });
  override_.disabled = reader.boolean("disabled");
  override_.tagOverrides = reader.map("tagOverrides", readTagOverride);
  return override_;
}

std::optional<MetricsConfig> readMetrics(ReadContext& ctx, const nlohmann::json& value,
                                         const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"providers", "overrides", "reportingInterval"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  MetricsConfig metrics;
  metrics.providers = readProviders(reader);
  metrics.overrides = reader.list("overrides", readOverride);
  metrics.reportingInterval = reader.duration("reportingInterval");
  return metrics;
}

std::optional<AccessLoggingConfig> readAccessLogging(ReadContext& ctx, const nlohmann::json& value,
                                                     const std::string& pointer) {
  const MessageReader reader(ctx, value, pointer, {"match", "providers", "disabled", "filter"});
  if (!reader.ok()) {
    return std::nullopt;
  }
  AccessLoggingConfig logging;
  logging.mode = readMode(reader);
  logging.providers = readProviders(reader);
  logging.disabled = reader.boolean("disabled");
  logging.filterExpression =
      reader
          .message("filter",
                   [](ReadContext& inner, const nlohmann::json& json, const std::string& at) {
                     return MessageReader(inner, json, at, {"expression"}).string("expression");
                   })
          .value_or("");
  return logging;
}

} // namespace

std::optional<Telemetry> parseTelemetry(const ConfigObject& object, std::vector<Diagnostic>& out) {
  return parseKind<Telemetry>(object, out, [&](ReadContext& ctx, Telemetry& telemetry) {
    const MessageReader spec = readSpec(
        ctx, {"selector", "targetRef", "targetRefs", "tracing", "metrics", "accessLogging"});
    telemetry.targets = readPolicyTargets(spec);
    telemetry.tracing = spec.list("tracing", readTracing);
    if (telemetry.tracing.size() > 1) {
      spec.warning("tracing", "more than one tracing entry is not supported; the first is used");
    }
    telemetry.metrics = spec.list("metrics", readMetrics);
    telemetry.accessLogging = spec.list("accessLogging", readAccessLogging);
  });
}

} // namespace meshd::control::config
