// Listening sockets. The main thread binds one socket per worker with SO_REUSEPORT (so the kernel
// spreads connections across workers, and bind errors surface at start-up), resolving port 0 to
// one concrete port for all of them; each worker then accepts on its own socket and keeps every
// connection it accepts.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "boost/asio/ip/tcp.hpp"
#include "core/event_loop.h"

namespace meshd::proxy::network {

// `count` listening sockets on `address`; the returned endpoint has the real port.
struct BoundSockets {
  boost::asio::ip::tcp::endpoint endpoint;
  std::vector<int> fds; // owned until handed to WorkerAcceptor
};
absl::StatusOr<BoundSockets> bindReusePort(const boost::asio::ip::tcp::endpoint& address,
                                           uint32_t count);

// Accepts on one worker's socket and hands each connection to `on_accept` (on that worker).
class WorkerAcceptor {
public:
  using AcceptCallback = std::function<void(boost::asio::ip::tcp::socket)>;
  WorkerAcceptor(core::EventLoop& loop, int fd, const boost::asio::ip::tcp::endpoint& endpoint,
                 AcceptCallback on_accept);
  ~WorkerAcceptor();
  void close();
  // While paused nothing is accepted: new connections wait in the kernel's backlog (Envoy's
  // stop_accepting_connections). Loop thread only.
  void setPaused(bool paused);

private:
  void accept();

  core::EventLoop& loop_;
  boost::asio::ip::tcp::acceptor acceptor_;
  AcceptCallback onAccept_;
  // Retries accepting after a failure such as EMFILE, instead of spinning on it.
  std::unique_ptr<core::Timer> retryTimer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool paused_ = false;
  bool accepting_ = false; // an async_accept is outstanding
};

} // namespace meshd::proxy::network
