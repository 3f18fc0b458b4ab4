// Building a HealthCheckConfig from Envoy's HealthCheck (health_check_config.h).
#include "proxy/config/health_check_config.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/escaping.h"
#include "core/status.h"
#include "fmt/format.h"
#include "proxy/config/conversions.h"

namespace meshd::proxy::config {
namespace {

using envoy::config::core::v3::HealthCheck;

// A Payload's bytes: `text` is hex, `binary` raw.
absl::StatusOr<std::string> payloadBytes(const HealthCheck::Payload& payload,
                                         const std::string& where) {
  if (payload.has_text()) {
    const std::string& text = payload.text();
    const bool hex = std::all_of(text.begin(), text.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) != 0;
    });
    if (text.size() % 2 != 0 || !hex) {
      return invalid(where + ".text", "must be hex digits, two per byte");
    }
    return absl::HexStringToBytes(text);
  }
  return payload.binary();
}

absl::StatusOr<std::vector<std::pair<int64_t, int64_t>>>
statusRanges(const google::protobuf::RepeatedPtrField<envoy::type::v3::Int64Range>& ranges,
             const std::string& where) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int i = 0; i < ranges.size(); ++i) {
    const auto& range = ranges[i];
    if (range.start() < 100 || range.end() > 600 || range.start() >= range.end()) {
      return invalid(fmt::format("{}[{}]", where, i),
                     "needs 100 <= start < end <= 600 (end is exclusive)");
    }
    out.emplace_back(range.start(), range.end());
  }
  return out;
}

absl::StatusOr<HealthCheckConfig::Http> buildHttp(const HealthCheck::HttpHealthCheck& proto,
                                                  const std::string& where) {
  HealthCheckConfig::Http out;
  if (proto.path().empty()) {
    return invalid(where + ".path", "is required");
  }
  if (proto.codec_client_type() != envoy::type::v3::HTTP1) {
    return invalid(where + ".codec_client_type", "mesh-proxy checks with HTTP/1.1");
  }
  out.path = proto.path();
  out.host = proto.host();
  if (proto.expected_statuses_size() > 0) {
    ASSIGN_OR_RETURN(out.expectedStatuses,
                     statusRanges(proto.expected_statuses(), where + ".expected_statuses"));
  }
  ASSIGN_OR_RETURN(out.retriableStatuses,
                   statusRanges(proto.retriable_statuses(), where + ".retriable_statuses"));
  for (int i = 0; i < proto.request_headers_to_add_size(); ++i) {
    const auto& header = proto.request_headers_to_add(i).header();
    if (header.key().empty()) {
      return invalid(fmt::format("{}.request_headers_to_add[{}].header.key", where, i),
                     "is required");
    }
    out.requestHeadersToAdd.emplace_back(header.key(), header.value());
  }
  return out;
}

absl::StatusOr<HealthCheckConfig::Tcp> buildTcp(const HealthCheck::TcpHealthCheck& proto,
                                                const std::string& where) {
  HealthCheckConfig::Tcp out;
  if (proto.has_send()) {
    ASSIGN_OR_RETURN(out.send, payloadBytes(proto.send(), where + ".send"));
  }
  for (int i = 0; i < proto.receive_size(); ++i) {
    ASSIGN_OR_RETURN(std::string block,
                     payloadBytes(proto.receive(i), fmt::format("{}.receive[{}]", where, i)));
    if (!block.empty()) {
      out.receive.push_back(std::move(block));
    }
  }
  return out;
}

} // namespace

absl::StatusOr<HealthCheckConfig> buildHealthCheck(const HealthCheck& proto,
                                                   const std::string& where) {
  HealthCheckConfig out;
  if (!proto.has_timeout() || toMillis(proto.timeout()).count() <= 0) {
    return invalid(where + ".timeout", "is required and must be positive");
  }
  if (!proto.has_interval() || toMillis(proto.interval()).count() <= 0) {
    return invalid(where + ".interval", "is required and must be positive");
  }
  if (!proto.has_unhealthy_threshold()) {
    return invalid(where + ".unhealthy_threshold", "is required");
  }
  if (!proto.has_healthy_threshold()) {
    return invalid(where + ".healthy_threshold", "is required");
  }
  out.timeout = toMillis(proto.timeout());
  out.interval = toMillis(proto.interval());
  out.initialJitter = toMillis(proto.initial_jitter());
  out.intervalJitter = toMillis(proto.interval_jitter());
  out.intervalJitterPercent = proto.interval_jitter_percent();
  // A threshold of 0 behaves as 1, as in Envoy (the first failure or success counts).
  out.unhealthyThreshold = std::max<uint32_t>(1, proto.unhealthy_threshold().value());
  out.healthyThreshold = std::max<uint32_t>(1, proto.healthy_threshold().value());
  out.alwaysLogFailures = proto.always_log_health_check_failures();
  if (proto.has_http_health_check()) {
    ASSIGN_OR_RETURN(out.http, buildHttp(proto.http_health_check(), where + ".http_health_check"));
  } else if (proto.has_tcp_health_check()) {
    ASSIGN_OR_RETURN(out.tcp, buildTcp(proto.tcp_health_check(), where + ".tcp_health_check"));
  } else {
    return invalid(where, "needs http_health_check or tcp_health_check");
  }
  return out;
}

} // namespace meshd::proxy::config
