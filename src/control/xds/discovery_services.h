// The gRPC services the xDS server registers: ADS (every type on one stream) and the per-type
// LDS, RDS, CDS, EDS and SDS services, all backed by the same StreamReactor. Fetch* (REST-style
// unary) methods are left to gRPC's default, UNIMPLEMENTED.
#pragma once

#include <memory>
#include <vector>

#include "control/xds/stream_host.h"
#include "grpcpp/impl/codegen/service_type.h"

namespace meshd::control::xds {

// One instance of each service, bound to `host`.
std::vector<std::unique_ptr<grpc::Service>> makeDiscoveryServices(StreamHost& host);

} // namespace meshd::control::xds
