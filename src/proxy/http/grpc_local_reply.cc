// gRPC local replies (grpc_local_reply.h).
#include "proxy/http/grpc_local_reply.h"

#include "fmt/format.h"

namespace meshd::proxy::http {
namespace {

constexpr uint32_t kGrpcUnknown = 2;
constexpr uint32_t kGrpcPermissionDenied = 7;
constexpr uint32_t kGrpcUnimplemented = 12;
constexpr uint32_t kGrpcInternal = 13;
constexpr uint32_t kGrpcUnavailable = 14;
constexpr uint32_t kGrpcUnauthenticated = 16;

} // namespace

uint32_t grpcStatusFromHttp(int http_status) {
  switch (http_status) {
  case 400: return kGrpcInternal;
  case 401: return kGrpcUnauthenticated;
  case 403: return kGrpcPermissionDenied;
  case 404: return kGrpcUnimplemented;
  case 429:
  case 502:
  case 503:
  case 504: return kGrpcUnavailable;
  default: return kGrpcUnknown;
  }
}

std::string percentEncodeGrpcMessage(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (const char c : message) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7e || byte == '%') {
      out += fmt::format("%{:02X}", byte);
    } else {
      out += c;
    }
  }
  return out;
}

HeaderMap grpcLocalReplyHeaders(int http_status, std::string_view body,
                                std::optional<uint32_t> grpc_status) {
  HeaderMap headers;
  headers.add(":status", "200");
  headers.add("content-type", "application/grpc");
  headers.add("grpc-status", std::to_string(grpc_status.value_or(grpcStatusFromHttp(http_status))));
  if (!body.empty()) {
    headers.add("grpc-message", percentEncodeGrpcMessage(body));
  }
  return headers;
}

} // namespace meshd::proxy::http
