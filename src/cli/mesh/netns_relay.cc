// TCP forwarding between network namespaces (netns_relay.h).
#include "cli/mesh/netns_relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fmt/format.h"

namespace meshd::cli::mesh {
namespace {

sockaddr_in toSockaddr(const RelayEnd& end) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(end.port);
  ::inet_pton(AF_INET, end.address.c_str(), &address.sin_addr);
  return address;
}

// Copies what is readable from `from` to `to`. False when `from` ended or either side failed.
bool pump(int from, int to) {
  char buffer[16384];
  ssize_t n = 0;
  do {
    n = ::read(from, buffer, sizeof buffer);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    return false;
  }
  size_t written = 0;
  while (written < static_cast<size_t>(n)) {
    const ssize_t w = ::send(to, buffer + written, static_cast<size_t>(n) - written, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      return false;
    }
    written += static_cast<size_t>(w);
  }
  return true;
}

} // namespace

absl::StatusOr<int> socketInNamespace(const std::string& netns) {
  if (netns.empty()) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return absl::InternalError(fmt::format("socket: {}", std::strerror(errno)));
    }
    return fd;
  }
  // setns changes only the calling thread: do it on a thread that exists for this alone.
  int fd = -1;
  std::string error;
  std::thread maker([&] {
    const int nsFd = ::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
    if (nsFd < 0 || ::setns(nsFd, CLONE_NEWNET) != 0) {
      error = fmt::format("entering network namespace {}: {}", netns, std::strerror(errno));
      if (nsFd >= 0) {
        ::close(nsFd);
      }
      return;
    }
    ::close(nsFd);
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      error = fmt::format("socket in {}: {}", netns, std::strerror(errno));
    }
  });
  maker.join();
  if (fd < 0) {
    return absl::InternalError(error);
  }
  return fd;
}

absl::StatusOr<std::unique_ptr<NetnsRelay>> NetnsRelay::start(RelayEnd listen, RelayEnd target,
                                                              size_t maxConnections) {
  std::unique_ptr<NetnsRelay> relay(
      new NetnsRelay(std::move(listen), std::move(target), maxConnections));
  absl::StatusOr<int> fd = socketInNamespace(relay->listen_.netns);
  if (!fd.ok()) {
    return fd.status();
  }
  relay->listenFd_ = *fd;
  const int yes = 1;
  ::setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address = toSockaddr(relay->listen_);
  if (::bind(*fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(*fd, 128) != 0) {
    return absl::UnavailableError(
        fmt::format("cannot listen on {}: {}", relay->describe(), std::strerror(errno)));
  }
  socklen_t length = sizeof address;
  ::getsockname(*fd, reinterpret_cast<sockaddr*>(&address), &length);
  relay->listenPort_ = ntohs(address.sin_port);
  relay->listen_.port = relay->listenPort_;
  relay->wakeFd_ = ::eventfd(0, EFD_CLOEXEC);
  relay->acceptThread_ = std::thread([raw = relay.get()] { raw->acceptLoop(); });
  return relay;
}

NetnsRelay::~NetnsRelay() {
  stopping_ = true;
  if (wakeFd_ >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t ignored = ::write(wakeFd_, &one, sizeof one);
  }
  if (acceptThread_.joinable()) {
    acceptThread_.join();
  }
  // Connection threads are detached and hold their own fds; they see the wake fd and end.
  while (open_.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (listenFd_ >= 0) {
    ::close(listenFd_);
  }
  if (wakeFd_ >= 0) {
    ::close(wakeFd_);
  }
}

std::string NetnsRelay::describe() const {
  auto side = [](const RelayEnd& end) {
    return fmt::format("{}:{}{}", end.address, end.port,
                       end.netns.empty() ? "" : fmt::format(" (netns {})", end.netns));
  };
  return fmt::format("{} -> {}", side(listen_), side(target_));
}

void NetnsRelay::acceptLoop() {
  while (!stopping_) {
    pollfd fds[2] = {{listenFd_, POLLIN, 0}, {wakeFd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      continue;
    }
    if ((fds[1].revents & POLLIN) != 0) {
      return;
    }
    const int client = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      continue;
    }
    if (open_.load() >= maxConnections_) {
      ::close(client);
      continue;
    }
    ++open_;
    std::thread([this, client] {
      serve(client);
      --open_;
    }).detach();
  }
}

void NetnsRelay::serve(int client) {
  absl::StatusOr<int> upstream = socketInNamespace(target_.netns);
  if (!upstream.ok()) {
    ::close(client);
    return;
  }
  const int yes = 1;
  ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  ::setsockopt(*upstream, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  sockaddr_in address = toSockaddr(target_);
  if (::connect(*upstream, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(*upstream);
    ::close(client);
    return;
  }
  bool clientOpen = true;
  bool upstreamOpen = true;
  while ((clientOpen || upstreamOpen) && !stopping_) {
    pollfd fds[3] = {{client, static_cast<short>(clientOpen ? POLLIN : 0), 0},
                     {*upstream, static_cast<short>(upstreamOpen ? POLLIN : 0), 0},
                     {wakeFd_, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      continue;
    }
    if ((fds[2].revents & POLLIN) != 0) {
      break;
    }
    if (clientOpen && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
        !pump(client, *upstream)) {
      clientOpen = false;
      ::shutdown(*upstream, SHUT_WR);
      if ((fds[0].revents & POLLERR) != 0) {
        break;
      }
    }
    if (upstreamOpen && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
        !pump(*upstream, client)) {
      upstreamOpen = false;
      ::shutdown(client, SHUT_WR);
      if ((fds[1].revents & POLLERR) != 0) {
        break;
      }
    }
  }
  ::close(*upstream);
  ::close(client);
}

bool tcpPortOpen(const std::string& netns, const std::string& address, uint16_t port,
                 std::chrono::milliseconds timeout) {
  absl::StatusOr<int> fd = socketInNamespace(netns);
  if (!fd.ok()) {
    return false;
  }
  ::fcntl(*fd, F_SETFL, ::fcntl(*fd, F_GETFL) | O_NONBLOCK);
  sockaddr_in target = toSockaddr(RelayEnd{netns, address, port});
  bool open = ::connect(*fd, reinterpret_cast<sockaddr*>(&target), sizeof target) == 0;
  if (!open && errno == EINPROGRESS) {
    pollfd wait{*fd, POLLOUT, 0};
    if (::poll(&wait, 1, static_cast<int>(timeout.count())) == 1) {
      int error = 0;
      socklen_t length = sizeof error;
      ::getsockopt(*fd, SOL_SOCKET, SO_ERROR, &error, &length);
      open = error == 0;
    }
  }
  ::close(*fd);
  return open;
}

} // namespace meshd::cli::mesh
