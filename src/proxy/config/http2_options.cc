// Building Http2Options from Envoy's Http2ProtocolOptions (http2_options.h).
#include "proxy/config/http2_options.h"

#include "proxy/config/conversions.h"

namespace meshd::proxy::config {
namespace {

constexpr uint32_t kMinWindow = 65535;           // RFC 9113 §6.9.2's initial window
constexpr uint32_t kMaxWindow = (1U << 31) - 1;  // RFC 9113 §6.9.1
constexpr uint32_t kMaxStreams = (1U << 31) - 1; // Envoy's bound

} // namespace

absl::StatusOr<Http2Options>
buildHttp2Options(const envoy::config::core::v3::Http2ProtocolOptions& proto,
                  const std::string& where) {
  Http2Options out;
  if (proto.has_max_concurrent_streams()) {
    const uint32_t value = proto.max_concurrent_streams().value();
    if (value < 1 || value > kMaxStreams) {
      return invalid(where + ".max_concurrent_streams", "must be between 1 and 2147483647");
    }
    out.maxConcurrentStreams = value;
  }
  if (proto.has_initial_stream_window_size()) {
    const uint32_t value = proto.initial_stream_window_size().value();
    if (value < kMinWindow || value > kMaxWindow) {
      return invalid(where + ".initial_stream_window_size", "must be between 65535 and 2147483647");
    }
    out.initialStreamWindowSize = value;
  }
  if (proto.has_initial_connection_window_size()) {
    const uint32_t value = proto.initial_connection_window_size().value();
    if (value < kMinWindow || value > kMaxWindow) {
      return invalid(where + ".initial_connection_window_size",
                     "must be between 65535 and 2147483647");
    }
    out.initialConnectionWindowSize = value;
  }
  return out;
}

} // namespace meshd::proxy::config
