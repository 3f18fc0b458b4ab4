// Config conversions (conversions.h).
#include "proxy/config/conversions.h"

#include <algorithm>
#include <vector>

#include "fmt/format.h"

namespace meshd::proxy::config {

absl::Status invalid(const std::string& where, const std::string& why) {
  return absl::InvalidArgumentError(fmt::format("{}: {}", where, why));
}

uint32_t perMillion(const envoy::type::v3::FractionalPercent& percent) {
  uint64_t scale = 1; // MILLION
  if (percent.denominator() == envoy::type::v3::FractionalPercent::HUNDRED) {
    scale = 10000;
  } else if (percent.denominator() == envoy::type::v3::FractionalPercent::TEN_THOUSAND) {
    scale = 100;
  }
  return static_cast<uint32_t>(std::min<uint64_t>(uint64_t{percent.numerator()} * scale, 1000000));
}

std::chrono::milliseconds toMillis(const google::protobuf::Duration& duration) {
  return std::chrono::milliseconds(duration.seconds() * 1000 + duration.nanos() / 1000000);
}

absl::StatusOr<Endpoint> toEndpoint(const envoy::config::core::v3::Address& address,
                                    const std::string& where) {
  if (!address.has_socket_address()) {
    return invalid(where, "socket_address is required");
  }
  const auto& socket = address.socket_address();
  boost::system::error_code error;
  const auto ip = boost::asio::ip::make_address(socket.address(), error);
  if (error) {
    return invalid(where + ".socket_address.address",
                   fmt::format("'{}' is not an IP address", socket.address()));
  }
  if (socket.port_value() > 65535) {
    return invalid(where + ".socket_address.port_value",
                   fmt::format("{} is not a port", socket.port_value()));
  }
  return Endpoint(ip, static_cast<uint16_t>(socket.port_value()));
}

absl::Status noInitialFetchTimeout(const envoy::config::core::v3::ConfigSource& source,
                                   const std::string& where) {
  if (source.has_initial_fetch_timeout()) {
    return invalid(where + ".initial_fetch_timeout",
                   "only dynamic_resources.cds_config.initial_fetch_timeout is supported");
  }
  return absl::OkStatus();
}

absl::StatusOr<CidrRange> toCidr(const envoy::config::core::v3::CidrRange& range,
                                 const std::string& where) {
  boost::system::error_code error;
  CidrRange out;
  out.address = boost::asio::ip::make_address(range.address_prefix(), error);
  if (error) {
    return invalid(where + ".address_prefix",
                   fmt::format("'{}' is not an IP address", range.address_prefix()));
  }
  out.prefixLength =
      range.has_prefix_len() ? range.prefix_len().value() : (out.address.is_v4() ? 32 : 128);
  if (out.prefixLength > (out.address.is_v4() ? 32u : 128u)) {
    return invalid(where + ".prefix_len", fmt::format("{} is too long", out.prefixLength));
  }
  return out;
}

namespace {
std::vector<uint8_t> bytesOf(const boost::asio::ip::address& ip) {
  if (ip.is_v4()) {
    const auto bytes = ip.to_v4().to_bytes();
    return {bytes.begin(), bytes.end()};
  }
  const auto bytes = ip.to_v6().to_bytes();
  return {bytes.begin(), bytes.end()};
}
} // namespace

bool CidrRange::contains(const boost::asio::ip::address& ip) const {
  if (ip.is_v4() != address.is_v4()) {
    return false;
  }
  const std::vector<uint8_t> a = bytesOf(ip);
  const std::vector<uint8_t> b = bytesOf(address);
  uint32_t bits = prefixLength;
  for (size_t i = 0; i < a.size() && bits > 0; ++i) {
    const uint32_t take = std::min<uint32_t>(bits, 8);
    const auto mask = static_cast<uint8_t>(0xff << (8 - take));
    if ((a[i] & mask) != (b[i] & mask)) {
      return false;
    }
    bits -= take;
  }
  return true;
}

} // namespace meshd::proxy::config
