// Asynchronous DNS resolution on one event loop (the main thread's), with c-ares: its sockets are
// watched by the loop and its timeouts driven by a loop timer, so a lookup never blocks a thread.
// Used by STRICT_DNS clusters.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "boost/asio/ip/address.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "core/event_loop.h"
#include "proxy/config/cluster_config.h"

struct ares_channeldata;
struct ares_addrinfo;

namespace meshd::proxy::upstream {

struct DnsAnswer {
  std::vector<boost::asio::ip::address> addresses; // in the order the resolver gave them
  std::chrono::seconds ttl{0};                     // the smallest TTL among them
};

class DnsResolver {
public:
  using Callback = std::function<void(absl::StatusOr<DnsAnswer>)>;

  // `servers`: the resolvers to ask (empty: the system's, from /etc/resolv.conf).
  static absl::StatusOr<std::unique_ptr<DnsResolver>>
  create(core::EventLoop& loop, const std::vector<boost::asio::ip::tcp::endpoint>& servers);
  // Pending lookups end without calling back; an answer already posted to the loop still runs
  // its callback, which must not assume the resolver (or its owner) is alive.
  ~DnsResolver();

  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // Resolves `name` (an IP literal answers itself); `done` runs on the loop, never before this
  // returns. NotFound when the name has no address of the family asked for.
  void resolve(const std::string& name, config::DnsLookupFamily family, Callback done);

private:
  struct Lookup;
  class SocketWatch;

  explicit DnsResolver(core::EventLoop& loop);
  void startLookup(std::unique_ptr<Lookup> lookup, int address_family);
  static void onAddrinfo(void* arg, int status, int timeouts, ::ares_addrinfo* result);
  static void onSocketState(void* data, int fd, int readable, int writable);
  void processFd(int read_fd, int write_fd);
  void armTimeout();

  core::EventLoop& loop_;
  ares_channeldata* channel_ = nullptr;
  std::map<int, std::shared_ptr<SocketWatch>> sockets_;
  std::unique_ptr<core::Timer> timeoutTimer_;
  bool destroying_ = false;
};

} // namespace meshd::proxy::upstream
