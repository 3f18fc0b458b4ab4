// Listener filters (listener_filters.h).
#include "proxy/network/listener_filters.h"

#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace meshd::proxy::network {
namespace {

constexpr size_t kMaxPeek = 16 * 1024 + 5; // one TLS record

// A bounds-checked cursor over peeked bytes.
class Reader {
public:
  explicit Reader(std::span<const uint8_t> data) : data_(data) {}
  bool ok() const { return ok_; }
  size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  uint32_t u8() { return take(1); }
  uint32_t u16() { return take(2); }
  uint32_t u24() { return take(3); }
  std::span<const uint8_t> bytes(size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    auto out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  void skip(size_t n) { bytes(n); }

private:
  uint32_t take(size_t n) {
    uint32_t value = 0;
    for (uint8_t b : bytes(n)) {
      value = value << 8 | b;
    }
    return value;
  }
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

std::string_view asText(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

void parseClientHelloExtensions(Reader& extensions, ConnectionInfo& info) {
  while (extensions.ok() && extensions.remaining() >= 4) {
    const uint32_t type = extensions.u16();
    Reader body(extensions.bytes(extensions.u16()));
    if (type == 0) { // server_name
      Reader list(body.bytes(body.u16()));
      while (list.ok() && list.remaining() >= 3) {
        const uint32_t nameType = list.u8();
        const auto name = list.bytes(list.u16());
        if (nameType == 0 && list.ok()) {
          std::string sni(asText(name));
          for (char& c : sni) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          }
          info.serverName = sni;
        }
      }
    } else if (type == 16) { // application_layer_protocol_negotiation
      Reader list(body.bytes(body.u16()));
      while (list.ok() && list.remaining() >= 1) {
        const auto protocol = list.bytes(list.u8());
        if (list.ok() && !protocol.empty()) {
          info.applicationProtocols.emplace_back(asText(protocol));
        }
      }
    }
  }
}

} // namespace

std::optional<boost::asio::ip::tcp::endpoint> originalDestination(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &address, &length) != 0) {
    length = sizeof(address);
    if (::getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &address, &length) != 0) {
      return std::nullopt;
    }
  }
  boost::asio::ip::tcp::endpoint endpoint;
  std::memcpy(endpoint.data(), &address, std::min<size_t>(length, endpoint.capacity()));
  endpoint.resize(length);
  return endpoint;
}

InspectResult inspectTls(std::span<const uint8_t> data, ConnectionInfo& info) {
  if (data.empty()) {
    return InspectResult::kNeedMore;
  }
  if (data[0] != 0x16) { // not a TLS handshake record
    return InspectResult::kDone;
  }
  Reader record(data);
  record.skip(1);
  const uint32_t version = record.u16();
  const uint32_t length = record.u16();
  if (!record.ok()) {
    return InspectResult::kNeedMore;
  }
  if ((version >> 8) != 3 || length > 16 * 1024) {
    return InspectResult::kDone; // not TLS after all
  }
  if (record.remaining() < length) {
    return InspectResult::kNeedMore;
  }
  Reader hello(record.bytes(length));
  if (hello.u8() != 1) { // ClientHello
    return InspectResult::kDone;
  }
  info.transportProtocol = "tls";
  Reader body(hello.bytes(hello.u24()));
  body.skip(2 + 32);     // client_version, random
  body.skip(body.u8());  // session_id
  body.skip(body.u16()); // cipher_suites
  body.skip(body.u8());  // compression_methods
  if (body.ok() && body.remaining() >= 2) {
    Reader extensions(body.bytes(body.u16()));
    parseClientHelloExtensions(extensions, info);
  }
  return InspectResult::kDone;
}

InspectResult inspectHttp(std::span<const uint8_t> data, ConnectionInfo& info) {
  const std::string_view text = asText(data);
  constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n";
  if (kPreface.starts_with(text.substr(0, kPreface.size()))) {
    if (text.size() < kPreface.size()) {
      return InspectResult::kNeedMore;
    }
    info.applicationProtocols.push_back("h2c");
    return InspectResult::kDone;
  }
  const size_t lineEnd = text.find("\r\n");
  if (lineEnd == std::string_view::npos) {
    // Still inside the request line: keep waiting while it looks like one.
    const bool plausible =
        text.size() < 8 * 1024 &&
        text.find_first_of(std::string_view("\0\r\n", 3)) == std::string_view::npos;
    return plausible ? InspectResult::kNeedMore : InspectResult::kDone;
  }
  const std::string_view line = text.substr(0, lineEnd);
  if (line.ends_with(" HTTP/1.1")) {
    info.applicationProtocols.push_back("http/1.1");
  } else if (line.ends_with(" HTTP/1.0")) {
    info.applicationProtocols.push_back("http/1.0");
  }
  return InspectResult::kDone;
}

ListenerInspection::ListenerInspection(core::EventLoop& loop, boost::asio::ip::tcp::socket socket,
                                       ConnectionInfo info, bool tls, bool http,
                                       std::chrono::milliseconds timeout, bool continue_on_timeout,
                                       Done done)
    : loop_(loop), socket_(std::move(socket)), info_(std::move(info)), tls_(tls), http_(http),
      continueOnTimeout_(continue_on_timeout), timeout_(timeout), done_(std::move(done)) {}

void ListenerInspection::start() {
  std::weak_ptr<ListenerInspection> weak = weak_from_this();
  timer_ = loop_.createTimer([weak] {
    auto self = weak.lock();
    if (!self || self->finished_) {
      return;
    }
    if (self->continueOnTimeout_) {
      self->finish();
    } else {
      self->finished_ = true;
      boost::system::error_code ignored;
      self->socket_.close(ignored);
    }
  });
  if (timeout_.count() > 0) {
    timer_->enable(timeout_);
  }
  waitForData();
}

void ListenerInspection::waitForData() {
  // Peek first: bytes that arrived before this wait was queued raise no new readiness event.
  std::array<uint8_t, kMaxPeek> peeked;
  const ssize_t n =
      ::recv(socket_.native_handle(), peeked.data(), peeked.size(), MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    socket_.async_wait(boost::asio::ip::tcp::socket::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& error) {
                         if (self->finished_) {
                           return;
                         }
                         if (error) {
                           self->finished_ = true;
                           return;
                         }
                         self->waitForData();
                       });
    return;
  }
  if (n <= 0) {
    // Closed (or failed) before saying anything: nothing to route.
    finished_ = true;
    timer_->disable();
    boost::system::error_code ignored;
    socket_.close(ignored);
    return;
  }
  const std::span<const uint8_t> data(peeked.data(), static_cast<size_t>(n));
  ConnectionInfo probe = info_;
  bool needMore = false;
  if (tls_) {
    needMore |= inspectTls(data, probe) == InspectResult::kNeedMore;
  }
  if (http_ && probe.transportProtocol == "raw_buffer") {
    needMore |= inspectHttp(data, probe) == InspectResult::kNeedMore;
  }
  if (needMore && static_cast<size_t>(n) < peeked.size()) {
    // Wait for more bytes: MSG_PEEK leaves these in place, and the next arrival is a new event.
    socket_.async_wait(boost::asio::ip::tcp::socket::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& error) {
                         if (!self->finished_ && !error) {
                           self->waitForData();
                         }
                       });
    return;
  }
  info_ = std::move(probe);
  finish();
}

void ListenerInspection::finish() {
  finished_ = true;
  timer_->disable();
  done_(std::move(socket_), std::move(info_));
}

} // namespace meshd::proxy::network
