// envoy.filters.http.fault (Envoy's HTTPFault): a delay and/or an abort injected into a share of
// requests, to test how callers cope (Istio's VirtualService `fault`). The connection manager's
// filter gives the default; a route's `typed_per_filter_config` replaces it for that route. The
// decision is made once per request, at routing time (FaultDecision).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/random.h"
#include "envoy/extensions/filters/http/fault/v3/fault.pb.h"
#include "google/protobuf/any.pb.h"
#include "proxy/http/header_map.h"
#include "proxy/router/route_table.h"

namespace meshd::proxy::filters {

inline constexpr const char* kFaultFilterName = "envoy.filters.http.fault";

struct FaultConfig {
  static constexpr uint32_t kMillion = 1000000;
  struct Delay {
    std::chrono::milliseconds fixed{0};
    bool fromHeader = false; // header_delay: x-envoy-fault-delay-request gives the milliseconds
    uint32_t perMillion = 0; // the share of requests delayed (an unset percentage is 0, as Envoy)
  };
  struct Abort {
    uint32_t httpStatus = 0;            // 200..599 (0 with grpcStatus or fromHeader)
    std::optional<uint32_t> grpcStatus; // answered as a gRPC trailers-only response
    bool fromHeader = false;            // header_abort: x-envoy-fault-abort-request
    uint32_t perMillion = 0;
  };
  std::optional<Delay> delay;
  std::optional<Abort> abort;
  // The fault applies only to requests whose headers all match.
  std::vector<router::HeaderMatch> headers;
};

// From the typed config; errors name the field under `where`.
absl::StatusOr<FaultConfig>
buildFaultConfig(const envoy::extensions::filters::http::fault::v3::HTTPFault& proto,
                 const std::string& where);
// From an Any that must hold an HTTPFault (whose fields the caller checked, as for every
// bootstrap and xDS resource).
absl::StatusOr<FaultConfig> buildFaultConfig(const google::protobuf::Any& any,
                                             const std::string& where);

struct FaultDecision {
  std::chrono::milliseconds delay{0};
  std::optional<uint32_t> abortHttpStatus;
  std::optional<uint32_t> abortGrpcStatus;
  bool aborts() const { return abortHttpStatus.has_value() || abortGrpcStatus.has_value(); }
};

// What to inject into `request`: each of delay and abort is drawn on its own, as in Envoy.
FaultDecision decideFault(const FaultConfig& config, const http::HeaderMap& request,
                          core::RandomGenerator& random);

} // namespace meshd::proxy::filters
