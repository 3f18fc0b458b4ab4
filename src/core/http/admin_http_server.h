// A small HTTP/1.1 server for operator endpoints (the proxy's admin port, meshd's debug, metrics
// and config API port): requests with bounded bodies, routed by exact path or by path prefix to
// handlers that run on the server's event loop. Not the data path: the proxy's codec lives in
// src/proxy.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "boost/asio/ip/tcp.hpp"
#include "core/event_loop.h"

namespace meshd::core {

struct AdminRequest {
  std::string method;
  std::string path;                         // without the query string
  std::map<std::string, std::string> query; // decoded parameters
  std::string body;
};

struct AdminResponse {
  int status = 200;
  std::string contentType = "text/plain; charset=UTF-8";
  std::string body;
};

using AdminHandler = std::function<AdminResponse(const AdminRequest&)>;

class AdminHttpServer {
public:
  static constexpr size_t kDefaultMaxRequestBytes = 1 << 20;

  // Requests (target plus body) larger than `maxRequestBytes` are answered 413, before the body
  // arrives when Content-Length announces it. "Expect: 100-continue" is answered.
  explicit AdminHttpServer(EventLoop& loop, size_t maxRequestBytes = kDefaultMaxRequestBytes);
  ~AdminHttpServer();
  AdminHttpServer(const AdminHttpServer&) = delete;
  AdminHttpServer& operator=(const AdminHttpServer&) = delete;

  // Registers `handler` for `path`, shown with `help` on the index page.
  void route(const std::string& path, std::string help, AdminHandler handler);
  // Registers `handler` for every path under `prefix` (e.g. "/apis/"), used when no exact route
  // matches; the longest matching prefix wins.
  void routePrefix(const std::string& prefix, std::string help, AdminHandler handler);
  size_t maxRequestBytes() const { return maxRequestBytes_; }
  // Binds and starts accepting; port 0 picks a free port. Returns the bound endpoint.
  absl::StatusOr<boost::asio::ip::tcp::endpoint> listen(const std::string& address, uint16_t port);
  void close();

private:
  class Session;
  void accept();
  AdminResponse dispatch(const AdminRequest& request) const;

  struct Route {
    std::string help;
    AdminHandler handler;
  };
  EventLoop& loop_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::map<std::string, Route> routes_;
  std::map<std::string, Route> prefixRoutes_;
  size_t maxRequestBytes_;
};

// Splits "a=1&b=x%20y" into decoded pairs.
std::map<std::string, std::string> parseQueryString(std::string_view query);

} // namespace meshd::core
