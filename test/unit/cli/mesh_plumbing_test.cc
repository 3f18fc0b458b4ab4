// The local mesh's plumbing that needs no namespace or root: running helper commands (and the
// message when they fail), the TCP relay in the caller's own namespace (bytes both ways, the
// connection limit), and the port probe.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "cli/mesh/command_runner.h"
#include "cli/mesh/netns_relay.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshd::cli::mesh {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

TEST(CommandRunnerTest, SuccessAndTheMessagesOfFailures) {
  EXPECT_TRUE(runCommand({"true"}).ok());
  EXPECT_TRUE(runCommand({"grep", "-q", "needle"}, "hay\nneedle\n").ok()) << "input reaches stdin";
  const absl::Status failed = runCommand({"sh", "-c", "echo broken >&2; exit 3"});
  EXPECT_FALSE(failed.ok());
  EXPECT_THAT(std::string(failed.message()), HasSubstr("exited 3: broken"));
  const absl::Status missing = runCommand({"no-such-program-meshd"});
  EXPECT_THAT(std::string(missing.message()), HasSubstr("could not run it"));
}

// A listener on 127.0.0.1 that echoes what one connection sends, until it closes.
class EchoServer {
public:
  EchoServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(fd_, 8);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        const int client = ::accept(fd_, nullptr, nullptr);
        if (client < 0) {
          return;
        }
        char buffer[256];
        ssize_t n = 0;
        while ((n = ::read(client, buffer, sizeof buffer)) > 0) {
          [[maybe_unused]] ssize_t written = ::write(client, buffer, static_cast<size_t>(n));
        }
        ::close(client);
      }
    });
  }
  ~EchoServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }

private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

int connectTo(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  timeval timeout{.tv_sec = 5, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

// Sends `text` and reads until as many bytes came back (or the connection ended).
std::string roundTrip(int fd, const std::string& text) {
  [[maybe_unused]] ssize_t sent = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
  std::string out;
  char buffer[256];
  while (out.size() < text.size()) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) {
      break;
    }
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

TEST(NetnsRelayTest, CopiesBothWaysAndHoldsItsConnectionLimit) {
  EchoServer echo;
  absl::StatusOr<std::unique_ptr<NetnsRelay>> relay =
      NetnsRelay::start({"", "127.0.0.1", 0}, {"", "127.0.0.1", echo.port()}, /*maxConnections=*/1);
  ASSERT_TRUE(relay.ok()) << relay.status();
  ASSERT_NE((*relay)->listenPort(), 0);
  EXPECT_THAT((*relay)->describe(), HasSubstr(std::to_string(echo.port())));
  const int first = connectTo((*relay)->listenPort());
  ASSERT_GE(first, 0);
  EXPECT_EQ(roundTrip(first, "hello through the relay"), "hello through the relay");
  // Over the limit: accepted and closed at once, so the read ends without an answer.
  const int second = connectTo((*relay)->listenPort());
  ASSERT_GE(second, 0);
  EXPECT_EQ(roundTrip(second, "x"), "");
  ::close(second);
  ::close(first);
  relay->reset(); // stops with no connection left behind (ASan would see a leak)
}

TEST(NetnsRelayTest, AnUnusableListenAddressIsAnError) {
  EchoServer echo;
  absl::StatusOr<std::unique_ptr<NetnsRelay>> relay =
      NetnsRelay::start({"", "203.0.113.1", 0}, {"", "127.0.0.1", echo.port()});
  ASSERT_FALSE(relay.ok());
  EXPECT_THAT(std::string(relay.status().message()), HasSubstr("cannot listen on"));
  EXPECT_FALSE(
      NetnsRelay::start({"no-such-namespace-meshd", "127.0.0.1", 0}, {"", "127.0.0.1", echo.port()})
          .ok());
}

TEST(TcpPortOpenTest, OpenAndClosedPorts) {
  EchoServer echo;
  EXPECT_TRUE(tcpPortOpen("", "127.0.0.1", echo.port(), 1s));
  // A port nothing listens on: bind one, note it, close it.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  EXPECT_FALSE(tcpPortOpen("", "127.0.0.1", ntohs(address.sin_port), 1s));
}

} // namespace
} // namespace meshd::cli::mesh
