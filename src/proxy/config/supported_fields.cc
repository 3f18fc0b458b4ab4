// The table of supported Envoy fields (supported_fields.h) and the reflection walk that checks a
// message against it. Extend the table in the same change that implements a field.
#include "proxy/config/supported_fields.h"

#include <map>
#include <set>
#include <string>

#include "core/status.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/descriptor.h"

namespace meshd::proxy::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

struct MessageRules {
  std::set<std::string> fields;
  // field name -> allowed enum value names (fields not listed accept every value)
  std::map<std::string, std::set<std::string>> enumValues;
};

const std::map<std::string, MessageRules>& supportedTable() {
  static const auto* table = new std::map<std::string, MessageRules>{
      // Well-known types used as field values: all of their fields.
      {"google.protobuf.Duration", {{"seconds", "nanos"}, {}}},
      {"google.protobuf.UInt32Value", {{"value"}, {}}},
      {"google.protobuf.UInt64Value", {{"value"}, {}}},
      {"google.protobuf.BoolValue", {{"value"}, {}}},
      {"google.protobuf.Struct", {{"fields"}, {}}},
      {"google.protobuf.Struct.FieldsEntry", {{"key", "value"}, {}}},
      {"google.protobuf.Value",
       {{"null_value", "number_value", "string_value", "bool_value", "struct_value", "list_value"},
        {}}},
      {"google.protobuf.ListValue", {{"values"}, {}}},

      {"envoy.config.bootstrap.v3.Bootstrap",
       {{"node", "static_resources", "admin", "dynamic_resources", "overload_manager"}, {}}},
      {"envoy.config.overload.v3.OverloadManager",
       {{"refresh_interval", "resource_monitors", "actions"}, {}}},
      {"envoy.config.overload.v3.ResourceMonitor", {{"name", "typed_config"}, {}}},
      {"envoy.config.overload.v3.OverloadAction", {{"name", "triggers"}, {}}},
      {"envoy.config.overload.v3.Trigger", {{"name", "threshold", "scaled"}, {}}},
      {"envoy.config.overload.v3.ThresholdTrigger", {{"value"}, {}}},
      {"envoy.config.overload.v3.ScaledTrigger",
       {{"scaling_threshold", "saturation_threshold"}, {}}},
      {"envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig",
       {{"max_active_downstream_connections"}, {}}},
      {"envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig",
       {{"max_heap_size_bytes"}, {}}},
      {"envoy.config.bootstrap.v3.Bootstrap.DynamicResources",
       {{"ads_config", "cds_config", "lds_config"}, {}}},
      {"envoy.config.core.v3.ApiConfigSource",
       {{"api_type", "transport_api_version", "grpc_services"},
        {{"api_type", {"GRPC", "DELTA_GRPC"}}, {"transport_api_version", {"V3"}}}}},
      {"envoy.config.core.v3.GrpcService", {{"envoy_grpc"}, {}}},
      {"envoy.config.core.v3.GrpcService.EnvoyGrpc", {{"cluster_name"}, {}}},
      {"envoy.config.core.v3.AggregatedConfigSource", {{}, {}}},
      {"envoy.config.bootstrap.v3.Bootstrap.StaticResources", {{"listeners", "clusters"}, {}}},
      {"envoy.config.bootstrap.v3.Admin", {{"address"}, {}}},
      {"envoy.config.core.v3.Node", {{"id", "cluster", "metadata"}, {}}},
      {"envoy.config.core.v3.Address", {{"socket_address"}, {}}},
      {"envoy.config.core.v3.SocketAddress",
       {{"address", "port_value", "protocol"}, {{"protocol", {"TCP"}}}}},

      {"envoy.config.listener.v3.Listener",
       {{"name", "address", "filter_chains", "default_filter_chain",
         "per_connection_buffer_limit_bytes", "use_original_dst", "listener_filters",
         "listener_filters_timeout", "continue_on_listener_filters_timeout", "traffic_direction"},
        {}}},
      {"envoy.config.listener.v3.FilterChain", {{"filters", "name", "filter_chain_match"}, {}}},
      {"envoy.config.listener.v3.FilterChainMatch",
       {{"destination_port", "prefix_ranges", "server_names", "transport_protocol",
         "application_protocols", "source_prefix_ranges", "source_ports"},
        {}}},
      {"envoy.config.core.v3.CidrRange", {{"address_prefix", "prefix_len"}, {}}},
      {"envoy.config.listener.v3.ListenerFilter", {{"name", "typed_config"}, {}}},
      {"envoy.extensions.filters.listener.original_dst.v3.OriginalDst", {{}, {}}},
      {"envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector", {{}, {}}},
      {"envoy.extensions.filters.listener.http_inspector.v3.HttpInspector", {{}, {}}},
      {"envoy.config.listener.v3.Filter", {{"name", "typed_config"}, {}}},

      {"envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
       {{"stat_prefix", "cluster", "weighted_clusters", "idle_timeout"}, {}}},
      {"envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster",
       {{"clusters"}, {}}},
      {"envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster.ClusterWeight",
       {{"name", "weight"}, {}}},
      {"envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit",
       {{"stat_prefix", "max_connections", "delay"}, {}}},

      {"envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
       {{"stat_prefix", "codec_type", "route_config", "http_filters", "server_name",
         "use_remote_address", "max_request_headers_kb", "common_http_protocol_options",
         "upgrade_configs", "stream_idle_timeout", "rds", "http2_protocol_options"},
        {{"codec_type", {"AUTO", "HTTP1", "HTTP2"}}}}},
      {"envoy.extensions.filters.network.http_connection_manager.v3.Rds",
       {{"config_source", "route_config_name"}, {}}},
      {"envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter",
       {{"name", "typed_config"}, {}}},
      {"envoy.config.core.v3.HttpProtocolOptions",
       {{"max_headers_count", "idle_timeout", "max_requests_per_connection",
         "max_connection_duration"},
        {}}},
      {"envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager."
       "UpgradeConfig",
       {{"upgrade_type", "enabled"}, {}}},
      {"envoy.extensions.filters.http.router.v3.Router", {{}, {}}},

      {"envoy.config.route.v3.RouteConfiguration",
       {{"name", "virtual_hosts", "validate_clusters", "request_headers_to_add",
         "request_headers_to_remove", "response_headers_to_add", "response_headers_to_remove"},
        {}}},
      {"envoy.config.route.v3.VirtualHost",
       {{"name", "domains", "routes", "request_headers_to_add", "request_headers_to_remove",
         "response_headers_to_add", "response_headers_to_remove", "include_request_attempt_count",
         "include_attempt_count_in_response", "typed_per_filter_config"},
        {}}},
      {"envoy.config.route.v3.VirtualHost.TypedPerFilterConfigEntry", {{"key", "value"}, {}}},
      {"envoy.extensions.filters.http.cors.v3.Cors", {{}, {}}},
      {"envoy.extensions.filters.http.cors.v3.CorsPolicy",
       {{"allow_origin_string_match", "allow_methods", "allow_headers", "expose_headers", "max_age",
         "allow_credentials", "filter_enabled", "shadow_enabled", "allow_private_network_access",
         "forward_not_matching_preflights"},
        {}}},
      {"envoy.config.route.v3.VirtualHost.TypedPerFilterConfigEntry", {{"key", "value"}, {}}},
      {"envoy.config.route.v3.Route",
       {{"name", "match", "route", "redirect", "direct_response", "request_headers_to_add",
         "request_headers_to_remove", "response_headers_to_add", "response_headers_to_remove",
         "typed_per_filter_config"},
        {}}},
      {"envoy.config.route.v3.Route.TypedPerFilterConfigEntry", {{"key", "value"}, {}}},
      {"envoy.extensions.filters.http.fault.v3.HTTPFault", {{"delay", "abort", "headers"}, {}}},
      {"envoy.extensions.filters.common.fault.v3.FaultDelay",
       {{"fixed_delay", "header_delay", "percentage"}, {}}},
      {"envoy.extensions.filters.common.fault.v3.FaultDelay.HeaderDelay", {{}, {}}},
      {"envoy.extensions.filters.http.fault.v3.FaultAbort",
       {{"http_status", "grpc_status", "header_abort", "percentage"}, {}}},
      {"envoy.extensions.filters.http.fault.v3.FaultAbort.HeaderAbort", {{}, {}}},
      {"envoy.type.v3.FractionalPercent", {{"numerator", "denominator"}, {}}},
      {"envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
       {{"stat_prefix", "status", "token_bucket", "filter_enabled", "filter_enforced",
         "response_headers_to_add", "enable_x_ratelimit_headers",
         "local_rate_limit_per_downstream_connection"},
        {}}},
      {"envoy.type.v3.TokenBucket", {{"max_tokens", "tokens_per_fill", "fill_interval"}, {}}},
      {"envoy.type.v3.HttpStatus", {{"code"}, {}}},
      {"envoy.config.route.v3.RouteMatch",
       {{"prefix", "path", "safe_regex", "path_separated_prefix", "case_sensitive", "headers",
         "query_parameters"},
        {}}},
      {"envoy.config.route.v3.HeaderMatcher",
       {{"name", "exact_match", "safe_regex_match", "range_match", "present_match", "prefix_match",
         "suffix_match", "contains_match", "string_match", "invert_match",
         "treat_missing_header_as_empty"},
        {}}},
      {"envoy.config.route.v3.QueryParameterMatcher",
       {{"name", "string_match", "present_match"}, {}}},
      {"envoy.type.matcher.v3.StringMatcher",
       {{"exact", "prefix", "suffix", "contains", "safe_regex", "ignore_case"}, {}}},
      {"envoy.type.matcher.v3.RegexMatcher", {{"regex", "google_re2"}, {}}},
      {"envoy.type.matcher.v3.RegexMatcher.GoogleRE2", {{}, {}}},
      {"envoy.type.matcher.v3.RegexMatchAndSubstitute", {{"pattern", "substitution"}, {}}},
      {"envoy.type.v3.Int64Range", {{"start", "end"}, {}}},
      {"envoy.config.route.v3.RouteAction",
       {{"cluster", "cluster_header", "weighted_clusters", "prefix_rewrite", "regex_rewrite",
         "host_rewrite_literal", "auto_host_rewrite", "timeout", "idle_timeout", "hash_policy",
         "retry_policy", "request_mirror_policies"},
        {}}},
      {"envoy.config.route.v3.RouteAction.RequestMirrorPolicy",
       {{"cluster", "runtime_fraction", "trace_sampled"}, {}}},
      {"envoy.config.core.v3.RuntimeFractionalPercent", {{"default_value"}, {}}},
      {"envoy.config.route.v3.RetryPolicy",
       {{"retry_on", "num_retries", "per_try_timeout", "retriable_status_codes", "retry_back_off",
         "retry_host_predicate", "host_selection_retry_max_attempts"},
        {}}},
      {"envoy.config.route.v3.RetryPolicy.RetryHostPredicate", {{"name", "typed_config"}, {}}},
      {"envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate", {{}, {}}},
      {"envoy.config.route.v3.RetryPolicy.RetryBackOff", {{"base_interval", "max_interval"}, {}}},
      {"envoy.config.route.v3.RouteAction.HashPolicy",
       {{"header", "cookie", "connection_properties", "query_parameter", "terminal"}, {}}},
      {"envoy.config.route.v3.RouteAction.HashPolicy.Header", {{"header_name"}, {}}},
      {"envoy.config.route.v3.RouteAction.HashPolicy.Cookie", {{"name", "ttl", "path"}, {}}},
      {"envoy.config.route.v3.RouteAction.HashPolicy.ConnectionProperties", {{"source_ip"}, {}}},
      {"envoy.config.route.v3.RouteAction.HashPolicy.QueryParameter", {{"name"}, {}}},
      {"envoy.config.route.v3.WeightedCluster", {{"clusters", "total_weight"}, {}}},
      {"envoy.config.route.v3.WeightedCluster.ClusterWeight",
       {{"name", "weight", "request_headers_to_add", "request_headers_to_remove",
         "response_headers_to_add", "response_headers_to_remove"},
        {}}},
      {"envoy.config.route.v3.RedirectAction",
       {{"https_redirect", "scheme_redirect", "host_redirect", "port_redirect", "path_redirect",
         "prefix_rewrite", "response_code", "strip_query"},
        {}}},
      {"envoy.config.route.v3.DirectResponseAction", {{"status", "body"}, {}}},
      {"envoy.config.core.v3.DataSource", {{"inline_string", "inline_bytes"}, {}}},
      {"envoy.config.core.v3.HeaderValueOption", {{"header", "append", "append_action"}, {}}},
      {"envoy.config.core.v3.HeaderValue", {{"key", "value"}, {}}},

      {"envoy.config.cluster.v3.CircuitBreakers", {{"thresholds"}, {}}},
      {"envoy.config.cluster.v3.OutlierDetection",
       {{"consecutive_5xx", "enforcing_consecutive_5xx", "consecutive_gateway_failure",
         "enforcing_consecutive_gateway_failure", "split_external_local_origin_errors",
         "consecutive_local_origin_failure", "enforcing_consecutive_local_origin_failure",
         "interval", "base_ejection_time", "max_ejection_time", "max_ejection_percent",
         "enforcing_success_rate", "success_rate_minimum_hosts", "success_rate_request_volume",
         "success_rate_stdev_factor", "failure_percentage_threshold",
         "enforcing_failure_percentage", "failure_percentage_minimum_hosts",
         "failure_percentage_request_volume"},
        {}}},
      {"envoy.config.cluster.v3.Cluster.CommonLbConfig", {{"healthy_panic_threshold"}, {}}},
      // no_traffic_interval is accepted without effect: every check runs at `interval`.
      {"envoy.config.core.v3.HealthCheck",
       {{"timeout", "interval", "initial_jitter", "interval_jitter", "interval_jitter_percent",
         "unhealthy_threshold", "healthy_threshold", "no_traffic_interval",
         "always_log_health_check_failures", "http_health_check", "tcp_health_check"},
        {}}},
      {"envoy.config.core.v3.HealthCheck.HttpHealthCheck",
       {{"host", "path", "request_headers_to_add", "expected_statuses", "retriable_statuses",
         "codec_client_type"},
        {{"codec_client_type", {"HTTP1"}}}}},
      {"envoy.config.core.v3.HealthCheck.TcpHealthCheck", {{"send", "receive"}, {}}},
      {"envoy.config.core.v3.HealthCheck.Payload", {{"text", "binary"}, {}}},
      {"envoy.type.v3.Percent", {{"value"}, {}}},
      {"envoy.config.cluster.v3.CircuitBreakers.Thresholds",
       {{"priority", "max_connections", "max_pending_requests", "max_requests", "max_retries",
         "retry_budget", "track_remaining", "max_connection_pools"},
        {}}},
      {"envoy.config.cluster.v3.CircuitBreakers.Thresholds.RetryBudget",
       {{"budget_percent", "min_retry_concurrency"}, {}}},
      {"envoy.config.cluster.v3.Cluster",
       {{"name",
         "type",
         "connect_timeout",
         "lb_policy",
         "load_assignment",
         "per_connection_buffer_limit_bytes",
         "least_request_lb_config",
         "round_robin_lb_config",
         "ring_hash_lb_config",
         "maglev_lb_config",
         "original_dst_lb_config",
         "typed_extension_protocol_options",
         "dns_refresh_rate",
         "respect_dns_ttl",
         "dns_lookup_family",
         "typed_dns_resolver_config",
         "eds_cluster_config",
         "circuit_breakers",
         "outlier_detection",
         "common_lb_config",
         "health_checks",
         "upstream_connection_options"},
        {{"type", {"STATIC", "STRICT_DNS", "LOGICAL_DNS", "EDS", "ORIGINAL_DST"}},
         {"lb_policy",
          {"ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "RING_HASH", "MAGLEV", "CLUSTER_PROVIDED"}}}}},
      {"envoy.config.cluster.v3.Cluster.OriginalDstLbConfig", {{"use_http_header"}, {}}},
      {"envoy.config.cluster.v3.UpstreamConnectionOptions", {{"tcp_keepalive"}, {}}},
      {"envoy.config.core.v3.TcpKeepalive",
       {{"keepalive_probes", "keepalive_time", "keepalive_interval"}, {}}},
      {"envoy.config.core.v3.TypedExtensionConfig", {{"name", "typed_config"}, {}}},
      {"envoy.config.cluster.v3.Cluster.EdsClusterConfig", {{"eds_config", "service_name"}, {}}},
      {"envoy.config.core.v3.ConfigSource",
       {{"path_config_source", "ads", "resource_api_version", "initial_fetch_timeout"},
        {{"resource_api_version", {"V3"}}}}},
      {"envoy.config.core.v3.PathConfigSource", {{"path"}, {}}},
      {"envoy.service.discovery.v3.DiscoveryResponse",
       {{"version_info", "resources", "type_url"}, {}}},
      {"envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig",
       {{"resolvers"}, {}}},
      {"envoy.config.cluster.v3.Cluster.TypedExtensionProtocolOptionsEntry",
       {{"key", "value"}, {}}},
      {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
       {{"common_http_protocol_options", "explicit_http_config", "use_downstream_protocol_config"},
        {}}},
      {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions.UseDownstreamHttpConfig",
       {{"http_protocol_options", "http2_protocol_options"}, {}}},
      {"envoy.config.core.v3.Http2ProtocolOptions",
       {{"max_concurrent_streams", "initial_stream_window_size", "initial_connection_window_size"},
        {}}},
      {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions.ExplicitHttpConfig",
       {{"http_protocol_options", "http2_protocol_options"}, {}}},
      {"envoy.config.core.v3.Http1ProtocolOptions", {{}, {}}},
      {"envoy.config.cluster.v3.Cluster.LeastRequestLbConfig",
       {{"choice_count", "slow_start_config"}, {}}},
      {"envoy.config.cluster.v3.Cluster.RoundRobinLbConfig", {{"slow_start_config"}, {}}},
      {"envoy.config.cluster.v3.Cluster.SlowStartConfig",
       {{"slow_start_window", "aggression", "min_weight_percent"}, {}}},
      // runtime_key: mesh-proxy has no runtime layer, so the default value applies.
      {"envoy.config.core.v3.RuntimeDouble", {{"default_value", "runtime_key"}, {}}},
      {"envoy.config.cluster.v3.Cluster.RingHashLbConfig",
       {{"minimum_ring_size", "maximum_ring_size"}, {}}},
      {"envoy.config.cluster.v3.Cluster.MaglevLbConfig", {{"table_size"}, {}}},
      {"envoy.config.endpoint.v3.ClusterLoadAssignment", {{"cluster_name", "endpoints"}, {}}},
      {"envoy.config.endpoint.v3.LocalityLbEndpoints",
       {{"lb_endpoints", "locality", "load_balancing_weight", "priority"}, {}}},
      {"envoy.config.core.v3.Locality", {{"region", "zone", "sub_zone"}, {}}},
      {"envoy.config.endpoint.v3.LbEndpoint",
       {{"endpoint", "load_balancing_weight", "health_status"}, {}}},
      {"envoy.config.endpoint.v3.Endpoint", {{"address"}, {}}},
  };
  return *table;
}

absl::Status unsupported(const std::string& path, const std::string& why) {
  return absl::InvalidArgumentError(fmt::format("{}: {}", path, why));
}

std::string join(const std::string& path, const std::string& field) {
  return path.empty() ? field : path + "." + field;
}

absl::Status check(const Message& message, const std::string& path);

absl::Status checkAny(const google::protobuf::Any& any, const std::string& path) {
  const std::string& url = any.type_url();
  const std::string typeName = url.substr(url.rfind('/') + 1);
  const Descriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(typeName);
  if (descriptor == nullptr || !supportedTable().contains(typeName)) {
    return unsupported(
        path, fmt::format("typed_config type '{}' is not supported by mesh-proxy", typeName));
  }
  std::unique_ptr<Message> decoded(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor)->New());
  if (!any.UnpackTo(decoded.get())) {
    return unsupported(path, fmt::format("cannot decode typed_config as '{}'", typeName));
  }
  return check(*decoded, path);
}

absl::Status checkValue(const Message& message, const FieldDescriptor* field, int index,
                        const std::string& path, const MessageRules& rules) {
  const Reflection* reflection = message.GetReflection();
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    const Message& child = index < 0 ? reflection->GetMessage(message, field)
                                     : reflection->GetRepeatedMessage(message, field, index);
    return check(child, path);
  }
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
    const auto allowed = rules.enumValues.find(field->name());
    if (allowed != rules.enumValues.end()) {
      const auto* value = index < 0 ? reflection->GetEnum(message, field)
                                    : reflection->GetRepeatedEnum(message, field, index);
      if (!allowed->second.contains(value->name())) {
        return unsupported(path,
                           fmt::format("value {} is not supported by mesh-proxy (supported: {})",
                                       value->name(), fmt::join(allowed->second, ", ")));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status check(const Message& message, const std::string& path) {
  const Descriptor* descriptor = message.GetDescriptor();
  if (descriptor->full_name() == "google.protobuf.Any") {
    return checkAny(static_cast<const google::protobuf::Any&>(message), path);
  }
  const auto rules = supportedTable().find(descriptor->full_name());
  if (rules == supportedTable().end()) {
    return unsupported(path,
                       fmt::format("{} is not supported by mesh-proxy", descriptor->full_name()));
  }
  const Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const std::string fieldPath = join(path, field->name());
    if (!rules->second.fields.contains(field->name())) {
      return unsupported(fieldPath, "field is not supported by mesh-proxy");
    }
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        RETURN_IF_ERROR(
            checkValue(message, field, i, fmt::format("{}[{}]", fieldPath, i), rules->second));
      }
    } else {
      RETURN_IF_ERROR(checkValue(message, field, -1, fieldPath, rules->second));
    }
  }
  return absl::OkStatus();
}

} // namespace

absl::Status checkSupportedFields(const google::protobuf::Message& message,
                                  const std::string& root_path) {
  return check(message, root_path);
}

} // namespace meshd::proxy::config
