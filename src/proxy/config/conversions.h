// Small conversions shared by the config builders: error values naming a field path, durations
// and socket addresses.
#pragma once

#include <chrono>
#include <string>

#include "absl/status/statusor.h"
#include "envoy/config/core/v3/address.pb.h"
#include "envoy/config/core/v3/config_source.pb.h"
#include "envoy/type/v3/percent.pb.h"
#include "google/protobuf/duration.pb.h"
#include "proxy/config/proxy_config.h"

namespace meshd::proxy::config {

// InvalidArgument "<where>: <why>".
absl::Status invalid(const std::string& where, const std::string& why);
std::chrono::milliseconds toMillis(const google::protobuf::Duration& duration);
// A FractionalPercent as parts per million, capped at a million (all).
uint32_t perMillion(const envoy::type::v3::FractionalPercent& percent);
absl::StatusOr<Endpoint> toEndpoint(const envoy::config::core::v3::Address& address,
                                    const std::string& where);
// One initial_fetch_timeout bounds the whole start (cds_config's): on another ConfigSource the
// field would be accepted without effect, so it is refused.
absl::Status noInitialFetchTimeout(const envoy::config::core::v3::ConfigSource& source,
                                   const std::string& where);
absl::StatusOr<CidrRange> toCidr(const envoy::config::core::v3::CidrRange& range,
                                 const std::string& where);

} // namespace meshd::proxy::config
