// DnsResolver (dns_resolver.h): c-ares driven by the event loop. c-ares tells us which sockets to
// watch (sock_state_cb); readiness and timeouts are handed back to ares_process_fd.
#include "proxy/upstream/dns_resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>

#include "boost/asio/posix/stream_descriptor.hpp"
#include "fmt/format.h"

namespace meshd::proxy::upstream {
namespace {

void initLibraryOnce() {
  static const int status = ares_library_init(ARES_LIB_INIT_ALL);
  (void)status;
}

std::string serverList(const std::vector<boost::asio::ip::tcp::endpoint>& servers) {
  std::string out;
  for (const auto& server : servers) {
    const std::string ip = server.address().to_string();
    out += fmt::format("{}{}:{}", out.empty() ? "" : ",",
                       server.address().is_v6() ? "[" + ip + "]" : ip, server.port());
  }
  return out;
}

} // namespace

struct DnsResolver::Lookup {
  DnsResolver* resolver;
  std::string name;
  int fallbackFamily; // asked next when the first family has no address; AF_UNSPEC: none
  Callback done;
};

// Watches one c-ares socket for the readiness c-ares asked for. The descriptor is borrowed:
// c-ares owns (and closes) the socket, so it is released, never closed, here.
class DnsResolver::SocketWatch : public std::enable_shared_from_this<SocketWatch> {
public:
  SocketWatch(DnsResolver& resolver, int fd)
      : resolver_(resolver), fd_(fd), descriptor_(resolver.loop_.context(), fd) {}
  ~SocketWatch() { stop(); }

  // c-ares is done with the socket: pending waits end, and none starts again.
  void stop() {
    wantRead_ = false;
    wantWrite_ = false;
    if (descriptor_.is_open()) {
      descriptor_.release();
    }
  }

  void want(bool readable, bool writable) {
    if (readable && !reading_) {
      reading_ = true;
      wait(boost::asio::posix::stream_descriptor::wait_read);
    }
    if (writable && !writing_) {
      writing_ = true;
      wait(boost::asio::posix::stream_descriptor::wait_write);
    }
    wantRead_ = readable;
    wantWrite_ = writable;
  }

private:
  void wait(boost::asio::posix::stream_descriptor::wait_type type) {
    descriptor_.async_wait(
        type, [weak = weak_from_this(), type](const boost::system::error_code& error) {
          const auto self = weak.lock();
          if (!self || error) {
            return; // the watch is gone (socket closed by c-ares, or resolver destroyed)
          }
          const bool read = type == boost::asio::posix::stream_descriptor::wait_read;
          (read ? self->reading_ : self->writing_) = false;
          // May destroy this watch (c-ares closed the socket): nothing of `self` after it but
          // re-arming, which the shared_ptr keeps valid.
          self->resolver_.processFd(read ? self->fd_ : ARES_SOCKET_BAD,
                                    read ? ARES_SOCKET_BAD : self->fd_);
          if (read && self->wantRead_ && !self->reading_ && self->descriptor_.is_open()) {
            self->reading_ = true;
            self->wait(type);
          } else if (!read && self->wantWrite_ && !self->writing_ && self->descriptor_.is_open()) {
            self->writing_ = true;
            self->wait(type);
          }
        });
  }

  DnsResolver& resolver_;
  int fd_;
  boost::asio::posix::stream_descriptor descriptor_;
  bool wantRead_ = false;
  bool wantWrite_ = false;
  bool reading_ = false; // a read wait is pending
  bool writing_ = false;
};

DnsResolver::DnsResolver(core::EventLoop& loop)
    : loop_(loop), timeoutTimer_(loop.createTimer([this] {
        processFd(ARES_SOCKET_BAD, ARES_SOCKET_BAD); // expired queries retry or fail
      })) {}

absl::StatusOr<std::unique_ptr<DnsResolver>>
DnsResolver::create(core::EventLoop& loop,
                    const std::vector<boost::asio::ip::tcp::endpoint>& servers) {
  initLibraryOnce();
  std::unique_ptr<DnsResolver> resolver(new DnsResolver(loop));
  ares_options options{};
  options.sock_state_cb = &DnsResolver::onSocketState;
  options.sock_state_cb_data = resolver.get();
  int status = ares_init_options(&resolver->channel_, &options, ARES_OPT_SOCK_STATE_CB);
  if (status != ARES_SUCCESS) {
    resolver->channel_ = nullptr;
    return absl::InternalError(fmt::format("c-ares: {}", ares_strerror(status)));
  }
  if (!servers.empty()) {
    status = ares_set_servers_ports_csv(resolver->channel_, serverList(servers).c_str());
    if (status != ARES_SUCCESS) {
      return absl::InvalidArgumentError(
          fmt::format("c-ares resolvers '{}': {}", serverList(servers), ares_strerror(status)));
    }
  }
  return resolver;
}

DnsResolver::~DnsResolver() {
  destroying_ = true;
  sockets_.clear(); // stop watching before c-ares closes the sockets
  if (channel_ != nullptr) {
    ares_destroy(channel_); // pending lookups end with ARES_EDESTRUCTION, without calling back
  }
}

void DnsResolver::resolve(const std::string& name, config::DnsLookupFamily family, Callback done) {
  using config::DnsLookupFamily;
  int first = AF_UNSPEC;
  int fallback = AF_UNSPEC;
  switch (family) {
  case DnsLookupFamily::kAuto: first = AF_INET6, fallback = AF_INET; break;
  case DnsLookupFamily::kV4Preferred: first = AF_INET, fallback = AF_INET6; break;
  case DnsLookupFamily::kV4Only: first = AF_INET; break;
  case DnsLookupFamily::kV6Only: first = AF_INET6; break;
  case DnsLookupFamily::kAll: first = AF_UNSPEC; break;
  }
  startLookup(std::make_unique<Lookup>(Lookup{this, name, fallback, std::move(done)}), first);
}

void DnsResolver::startLookup(std::unique_ptr<Lookup> lookup, int address_family) {
  ares_addrinfo_hints hints{};
  hints.ai_family = address_family;
  hints.ai_flags = ARES_AI_NOSORT; // keep the server's order; no probing connects
  const std::string name = lookup->name;
  ares_getaddrinfo(channel_, name.c_str(), nullptr, &hints, &DnsResolver::onAddrinfo,
                   lookup.release());
  armTimeout();
}

void DnsResolver::onAddrinfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* result) {
  std::unique_ptr<Lookup> lookup(static_cast<Lookup*>(arg));
  std::unique_ptr<ares_addrinfo, void (*)(ares_addrinfo*)> owned(result, ares_freeaddrinfo);
  if (status == ARES_EDESTRUCTION || lookup->resolver->destroying_) {
    return;
  }
  DnsAnswer answer;
  int ttl = -1;
  if (status == ARES_SUCCESS && result != nullptr) {
    for (const ares_addrinfo_node* node = result->nodes; node != nullptr; node = node->ai_next) {
      boost::asio::ip::address address;
      if (node->ai_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(node->ai_addr);
        address = boost::asio::ip::address_v4(ntohl(in->sin_addr.s_addr));
      } else if (node->ai_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(node->ai_addr);
        boost::asio::ip::address_v6::bytes_type bytes;
        std::copy_n(in6->sin6_addr.s6_addr, bytes.size(), bytes.begin());
        address = boost::asio::ip::address_v6(bytes);
      } else {
        continue;
      }
      if (std::find(answer.addresses.begin(), answer.addresses.end(), address) ==
          answer.addresses.end()) {
        answer.addresses.push_back(address);
      }
      ttl = ttl < 0 ? node->ai_ttl : std::min(ttl, node->ai_ttl);
    }
  }
  DnsResolver& resolver = *lookup->resolver;
  const bool empty = status == ARES_SUCCESS ? answer.addresses.empty()
                                            : (status == ARES_ENOTFOUND || status == ARES_ENODATA);
  if (empty && lookup->fallbackFamily != AF_UNSPEC) {
    const int family = lookup->fallbackFamily;
    lookup->fallbackFamily = AF_UNSPEC;
    // Started from a c-ares callback: c-ares allows new queries here.
    resolver.startLookup(std::move(lookup), family);
    return;
  }
  absl::StatusOr<DnsAnswer> outcome;
  if (status == ARES_SUCCESS && !answer.addresses.empty()) {
    answer.ttl = std::chrono::seconds(std::max(ttl, 0));
    outcome = std::move(answer);
  } else if (empty) {
    outcome = absl::NotFoundError(fmt::format("'{}' has no address", lookup->name));
  } else {
    outcome = absl::UnavailableError(
        fmt::format("resolving '{}': {}", lookup->name, ares_strerror(status)));
  }
  // Always from the loop, never inside resolve() (c-ares answers literals synchronously).
  resolver.loop_.post(
      [done = std::move(lookup->done), outcome = std::move(outcome)]() mutable { done(outcome); });
}

void DnsResolver::onSocketState(void* data, int fd, int readable, int writable) {
  auto* resolver = static_cast<DnsResolver*>(data);
  if (resolver->destroying_) {
    return;
  }
  if (readable == 0 && writable == 0) {
    if (const auto found = resolver->sockets_.find(fd); found != resolver->sockets_.end()) {
      found->second->stop(); // c-ares is about to close it
      resolver->sockets_.erase(found);
    }
    return;
  }
  auto& watch = resolver->sockets_[fd];
  if (!watch) {
    watch = std::make_shared<SocketWatch>(*resolver, fd);
  }
  watch->want(readable != 0, writable != 0);
}

void DnsResolver::processFd(int read_fd, int write_fd) {
  ares_process_fd(channel_, read_fd, write_fd);
  armTimeout();
}

void DnsResolver::armTimeout() {
  timeval wait{};
  if (ares_timeout(channel_, nullptr, &wait) == nullptr) {
    timeoutTimer_->disable(); // no query pending
    return;
  }
  timeoutTimer_->enable(std::chrono::seconds(wait.tv_sec) +
                        std::chrono::microseconds(wait.tv_usec));
}

} // namespace meshd::proxy::upstream
