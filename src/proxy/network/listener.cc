// Listening sockets (listener.h).
#include "proxy/network/listener.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/logging.h"
#include "fmt/format.h"

namespace meshd::proxy::network {
namespace {

absl::StatusOr<int> bindOne(const boost::asio::ip::tcp::endpoint& endpoint) {
  const int fd =
      ::socket(endpoint.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    return absl::InternalError(fmt::format("socket: {}", std::strerror(errno)));
  }
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (::bind(fd, endpoint.data(), static_cast<socklen_t>(endpoint.size())) != 0 ||
      ::listen(fd, SOMAXCONN) != 0) {
    const int error = errno;
    ::close(fd);
    return absl::UnavailableError(fmt::format("cannot listen on {}:{}: {}",
                                              endpoint.address().to_string(), endpoint.port(),
                                              std::strerror(error)));
  }
  return fd;
}

} // namespace

absl::StatusOr<BoundSockets> bindReusePort(const boost::asio::ip::tcp::endpoint& address,
                                           uint32_t count) {
  BoundSockets bound{address, {}};
  for (uint32_t i = 0; i < count; ++i) {
    auto fd = bindOne(bound.endpoint);
    if (!fd.ok()) {
      for (int open : bound.fds) {
        ::close(open);
      }
      return fd.status();
    }
    bound.fds.push_back(*fd);
    if (i == 0 && address.port() == 0) {
      // Port 0: every other socket must join the port the kernel picked for the first.
      boost::asio::ip::tcp::endpoint actual = address;
      socklen_t length = static_cast<socklen_t>(actual.capacity());
      ::getsockname(*fd, actual.data(), &length);
      actual.resize(length);
      bound.endpoint = actual;
    }
  }
  return bound;
}

WorkerAcceptor::WorkerAcceptor(core::EventLoop& loop, int fd,
                               const boost::asio::ip::tcp::endpoint& endpoint,
                               AcceptCallback on_accept)
    : loop_(loop), acceptor_(loop.context(), endpoint.protocol(), fd),
      onAccept_(std::move(on_accept)), retryTimer_(loop.createTimer([this] { accept(); })) {
  accept();
}

WorkerAcceptor::~WorkerAcceptor() {
  *alive_ = false;
  close();
}

void WorkerAcceptor::close() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void WorkerAcceptor::setPaused(bool paused) {
  paused_ = paused;
  if (paused) {
    retryTimer_->disable();
    boost::system::error_code ignored;
    acceptor_.cancel(ignored); // the outstanding accept ends with operation_aborted
  } else if (!accepting_ && acceptor_.is_open()) {
    accept();
  }
}

void WorkerAcceptor::accept() {
  if (paused_ || accepting_) {
    return;
  }
  accepting_ = true;
  acceptor_.async_accept(
      loop_.context(), [this, alive = alive_](const boost::system::error_code& error,
                                              boost::asio::ip::tcp::socket socket) {
        if (!*alive) {
          return;
        }
        accepting_ = false;
        if (!acceptor_.is_open()) {
          return;
        }
        if (error == boost::asio::error::operation_aborted) {
          accept(); // cancelled by a pause, maybe lifted since; a no-op while still paused
          return;
        }
        if (error) {
          // EMFILE and friends: the backlog holds clients while we wait for descriptors to free up.
          MESHD_LOG(log::get("listener"), warn, "accept failed: {}; retrying in 100 ms",
                    error.message());
          retryTimer_->enable(std::chrono::milliseconds(100));
          return;
        }
        onAccept_(std::move(socket));
        accept();
      });
}

} // namespace meshd::proxy::network
