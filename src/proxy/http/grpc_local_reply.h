// Local replies to gRPC requests, as Envoy's Utility::sendLocalReply makes them: a trailers-only
// response (HTTP status 200, content-type application/grpc, grpc-status and grpc-message in the
// head), since a gRPC client reads the outcome from grpc-status, not from the HTTP status.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/http/header_map.h"

namespace meshd::proxy::http {

// The gRPC status for an HTTP status (gRPC's http-grpc-status-mapping, as Envoy's
// Grpc::Utility::httpToGrpcStatus): 400 INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED,
// 404 UNIMPLEMENTED, 429/502/503/504 UNAVAILABLE, anything else UNKNOWN.
uint32_t grpcStatusFromHttp(int http_status);

// grpc-message's percent-encoding (gRPC PROTOCOL-HTTP2): bytes outside 0x20..0x7E and '%'.
std::string percentEncodeGrpcMessage(std::string_view message);

// The head of a trailers-only reply for a local reply with `http_status` and `body`;
// `grpc_status` overrides the mapped status (the fault filter's grpc abort).
HeaderMap grpcLocalReplyHeaders(int http_status, std::string_view body,
                                std::optional<uint32_t> grpc_status);

} // namespace meshd::proxy::http
