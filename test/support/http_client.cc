// The test HTTP client (http_client.h) on plain blocking sockets.
#include "test/support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

namespace meshd::testing {

int listenLoopback(uint16_t& port, int backlog) {
  port = 0;
  return listenOn("127.0.0.1", port, backlog);
}

int listenOn(const std::string& ip, uint16_t& port, int backlog) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  if (::inet_pton(AF_INET, ip.c_str(), &address.sin_addr) != 1) {
    ::close(fd);
    return -1;
  }
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(fd, backlog) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    return -1;
  }
  port = ntohs(address.sin_port);
  return fd;
}

int connectLoopback(uint16_t port, std::chrono::milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool sendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    sent += static_cast<size_t>(n);
  }
  return true;
}

std::string readUntilClose(int fd) {
  std::string out;
  char buffer[16384];
  while (true) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) {
      return out;
    }
    out.append(buffer, static_cast<size_t>(n));
  }
}

HttpResult httpRequest(uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body, std::chrono::milliseconds timeout) {
  HttpResult result;
  const int fd = connectLoopback(port, timeout);
  if (fd < 0) {
    return result;
  }
  std::string request =
      method + " " + target + " HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n";
  request += "content-length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  if (!sendAll(fd, request)) {
    ::close(fd);
    return result;
  }
  const std::string response = readUntilClose(fd);
  ::close(fd);
  const size_t headEnd = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || headEnd == std::string::npos) {
    return result;
  }
  result.status = std::atoi(response.c_str() + 9);
  result.headers = response.substr(0, headEnd);
  result.body = response.substr(headEnd + 4);
  return result;
}

} // namespace meshd::testing
