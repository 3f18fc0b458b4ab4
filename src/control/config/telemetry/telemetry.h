// Istio Telemetry: tracing, metrics and access logging per mesh, namespace or workload, naming
// the mesh's extension providers.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control/config/common.h"
#include "control/config/config_object.h"
#include "control/config/diagnostic.h"
#include "control/config/json_reader.h"

namespace meshd::control::config {

enum class WorkloadMode { kClientAndServer, kClient, kServer };

struct TracingCustomTag {
  enum class Kind { kLiteral, kEnvironment, kHeader, kFormatter };
  Kind kind = Kind::kLiteral;
  std::string value;        // literal value, environment variable, header name or formatter
  std::string defaultValue; // environment and header only
};

struct TracingConfig {
  WorkloadMode mode = WorkloadMode::kClientAndServer; // match.mode
  std::vector<std::string> providers;                 // provider names
  std::optional<double> randomSamplingPercentage;
  std::optional<bool> disableSpanReporting;
  std::map<std::string, TracingCustomTag> customTags;
  std::optional<bool> useRequestIdForTraceSampling;
  std::optional<bool> enableIstioTags;
  std::optional<bool> disableContextPropagation;
};

enum class IstioMetric {
  kAllMetrics,
  kRequestCount,
  kRequestDuration,
  kRequestSize,
  kResponseSize,
  kTcpOpenedConnections,
  kTcpClosedConnections,
  kTcpSentBytes,
  kTcpReceivedBytes,
  kGrpcRequestMessages,
  kGrpcResponseMessages,
};

struct MetricTagOverride {
  enum class Operation { kUpsert, kRemove };
  Operation operation = Operation::kUpsert;
  std::string value; // a CEL expression (UPSERT)
};

struct MetricsOverride {
  std::optional<IstioMetric> metric; // nullopt with customMetric empty: every metric
  std::string customMetric;
  WorkloadMode mode = WorkloadMode::kClientAndServer;
  std::optional<bool> disabled;
  std::map<std::string, MetricTagOverride> tagOverrides;
};

struct MetricsConfig {
  std::vector<std::string> providers;
  std::vector<MetricsOverride> overrides;
  std::optional<Duration> reportingInterval;
};

struct AccessLoggingConfig {
  WorkloadMode mode = WorkloadMode::kClientAndServer;
  std::vector<std::string> providers;
  std::optional<bool> disabled;
  std::string filterExpression; // a CEL expression; "" = log everything
};

struct Telemetry {
  ObjectMeta meta;
  PolicyTargets targets;
  std::vector<TracingConfig> tracing;
  std::vector<MetricsConfig> metrics;
  std::vector<AccessLoggingConfig> accessLogging;
};

std::optional<Telemetry> parseTelemetry(const ConfigObject& object, std::vector<Diagnostic>& out);

} // namespace meshd::control::config
