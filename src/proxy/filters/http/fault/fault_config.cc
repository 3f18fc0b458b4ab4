// The fault filter's config and per-request decision (fault_config.h).
#include "proxy/filters/http/fault/fault_config.h"

#include <charconv>

#include "core/status.h"
#include "fmt/format.h"
#include "proxy/config/conversions.h"

namespace meshd::proxy::filters {
namespace {

std::optional<uint64_t> headerNumber(const http::HeaderMap& request, std::string_view name) {
  const auto value = request.get(name);
  if (!value) {
    return std::nullopt;
  }
  uint64_t number = 0;
  const auto [end, error] = std::from_chars(value->data(), value->data() + value->size(), number);
  if (error != std::errc() || end != value->data() + value->size()) {
    return std::nullopt;
  }
  return number;
}

bool drawn(uint32_t per_million, core::RandomGenerator& random) {
  return per_million > 0 && random.uniform(FaultConfig::kMillion) < per_million;
}

} // namespace

absl::StatusOr<FaultConfig>
buildFaultConfig(const envoy::extensions::filters::http::fault::v3::HTTPFault& proto,
                 const std::string& where) {
  FaultConfig out;
  if (proto.has_delay()) {
    const auto& delay = proto.delay();
    FaultConfig::Delay d;
    if (delay.has_header_delay()) {
      d.fromHeader = true;
    } else if (delay.has_fixed_delay()) {
      d.fixed = config::toMillis(delay.fixed_delay());
      if (d.fixed.count() <= 0) {
        return config::invalid(where + ".delay.fixed_delay", "must be positive");
      }
    } else {
      return config::invalid(where + ".delay", "needs fixed_delay or header_delay");
    }
    d.perMillion = config::perMillion(delay.percentage());
    out.delay = d;
  }
  if (proto.has_abort()) {
    const auto& abort = proto.abort();
    FaultConfig::Abort a;
    if (abort.has_header_abort()) {
      a.fromHeader = true;
    } else if (abort.error_type_case() == abort.kGrpcStatus) {
      a.grpcStatus = abort.grpc_status();
    } else if (abort.error_type_case() == abort.kHttpStatus) {
      if (abort.http_status() < 200 || abort.http_status() > 599) {
        return config::invalid(where + ".abort.http_status", "must be in [200, 599]");
      }
      a.httpStatus = abort.http_status();
    } else {
      return config::invalid(where + ".abort", "needs http_status, grpc_status or header_abort");
    }
    a.perMillion = config::perMillion(abort.percentage());
    out.abort = a;
  }
  for (int i = 0; i < proto.headers_size(); ++i) {
    ASSIGN_OR_RETURN(auto match, router::buildHeaderMatch(proto.headers(i),
                                                          fmt::format("{}.headers[{}]", where, i)));
    out.headers.push_back(std::move(match));
  }
  return out;
}

absl::StatusOr<FaultConfig> buildFaultConfig(const google::protobuf::Any& any,
                                             const std::string& where) {
  envoy::extensions::filters::http::fault::v3::HTTPFault proto;
  if (!any.UnpackTo(&proto)) {
    return config::invalid(where, fmt::format("expected an HTTPFault, got {}", any.type_url()));
  }
  return buildFaultConfig(proto, where);
}

FaultDecision decideFault(const FaultConfig& config, const http::HeaderMap& request,
                          core::RandomGenerator& random) {
  FaultDecision out;
  for (const auto& match : config.headers) {
    if (!match.matches(request)) {
      return out;
    }
  }
  if (config.delay && drawn(config.delay->perMillion, random)) {
    if (!config.delay->fromHeader) {
      out.delay = config.delay->fixed;
    } else if (const auto ms = headerNumber(request, "x-envoy-fault-delay-request")) {
      out.delay = std::chrono::milliseconds(*ms);
    }
  }
  if (config.abort && drawn(config.abort->perMillion, random)) {
    if (!config.abort->fromHeader) {
      if (config.abort->grpcStatus) {
        out.abortGrpcStatus = config.abort->grpcStatus;
      } else {
        out.abortHttpStatus = config.abort->httpStatus;
      }
    } else if (const auto grpc = headerNumber(request, "x-envoy-fault-abort-grpc-request")) {
      out.abortGrpcStatus = static_cast<uint32_t>(*grpc);
    } else if (const auto status = headerNumber(request, "x-envoy-fault-abort-request");
               status && *status >= 200 && *status <= 599) {
      out.abortHttpStatus = static_cast<uint32_t>(*status);
    }
  }
  return out;
}

} // namespace meshd::proxy::filters
