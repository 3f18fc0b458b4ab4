// Blocking HTTP/1.1 client (see http_client.h).
#include "cli/http_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "fmt/format.h"

namespace meshd::cli {
namespace {

using Clock = std::chrono::steady_clock;

class Fd {
public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

private:
  int fd_;
};

int remainingMillis(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits for `events` on `fd` until `deadline`; false on timeout.
bool waitReady(int fd, short events, Clock::time_point deadline) {
  pollfd pfd{fd, events, 0};
  for (;;) {
    const int n = ::poll(&pfd, 1, remainingMillis(deadline));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    return n > 0;
  }
}

absl::StatusOr<int> connectTo(const HttpEndpoint& endpoint, Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(endpoint.port);
  if (const int rc = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return absl::UnavailableError(
        fmt::format("cannot resolve {}: {}", endpoint.host, ::gai_strerror(rc)));
  }
  std::string lastError = "no address";
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      lastError = std::strerror(errno);
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
      lastError = std::strerror(errno);
      ::close(fd);
      continue;
    }
    if (!waitReady(fd, POLLOUT, deadline)) {
      lastError = "timed out connecting";
      ::close(fd);
      continue;
    }
    int error = 0;
    socklen_t length = sizeof(error);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
      lastError = std::strerror(error);
      ::close(fd);
      continue;
    }
    ::freeaddrinfo(found);
    return fd;
  }
  ::freeaddrinfo(found);
  return absl::UnavailableError(
      fmt::format("cannot connect to {}: {}", endpoint.toString(), lastError));
}

absl::Status sendAll(int fd, const std::string& data, Clock::time_point deadline) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!waitReady(fd, POLLOUT, deadline)) {
        return absl::DeadlineExceededError("timed out sending the request");
      }
    } else {
      return absl::InternalError(fmt::format("sending the request: {}", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> readAll(int fd, Clock::time_point deadline) {
  std::string data;
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      data.append(buffer, static_cast<size_t>(n));
    } else if (n == 0) {
      return data;
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!waitReady(fd, POLLIN, deadline)) {
        return absl::DeadlineExceededError("timed out waiting for the response");
      }
    } else {
      return absl::InternalError(fmt::format("reading the response: {}", std::strerror(errno)));
    }
  }
}

// Decodes a chunked body; the input is everything after the header block.
std::string dechunk(std::string_view data) {
  std::string body;
  for (;;) {
    const size_t lineEnd = data.find("\r\n");
    if (lineEnd == std::string_view::npos) {
      return body;
    }
    size_t size = 0;
    const std::string sizeText(data.substr(0, data.find_first_of(";\r")));
    if (!absl::SimpleHexAtoi(sizeText, &size) || size == 0) {
      return body;
    }
    data.remove_prefix(lineEnd + 2);
    body.append(data.substr(0, size));
    data.remove_prefix(std::min(data.size(), size + 2));
  }
}

absl::StatusOr<HttpResponse> parseResponse(const std::string& raw) {
  const size_t headerEnd = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || headerEnd == std::string::npos || raw.size() < 12) {
    return absl::InternalError("the server's answer is not an HTTP/1.1 response");
  }
  HttpResponse response;
  if (!absl::SimpleAtoi(raw.substr(9, 3), &response.status)) {
    return absl::InternalError("the server's answer has no status code");
  }
  std::string headers = raw.substr(0, headerEnd);
  for (char& c : headers) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  const std::string_view rest = std::string_view(raw).substr(headerEnd + 4);
  if (headers.find("transfer-encoding: chunked") != std::string::npos) {
    response.body = dechunk(rest);
  } else {
    response.body = std::string(rest);
  }
  return response;
}

} // namespace

std::string HttpEndpoint::toString() const {
  return fmt::format("http://{}:{}", host, port);
}

absl::StatusOr<HttpEndpoint> parseHttpEndpoint(const std::string& url) {
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    return absl::InvalidArgumentError(
        fmt::format("'{}': meshctl speaks plain HTTP to meshd; use http://", url));
  }
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  }
  while (rest.ends_with('/')) {
    rest.remove_suffix(1);
  }
  const size_t colon = rest.rfind(':');
  HttpEndpoint endpoint;
  uint32_t port = 0;
  if (colon == std::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(std::string(rest.substr(colon + 1)), &port) || port == 0 || port > 65535 ||
      rest.find('/') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        fmt::format("'{}' is not a meshd address like http://127.0.0.1:15014", url));
  }
  endpoint.host = std::string(rest.substr(0, colon));
  if (endpoint.host.size() > 2 && endpoint.host.front() == '[' && endpoint.host.back() == ']') {
    endpoint.host = endpoint.host.substr(1, endpoint.host.size() - 2);
  }
  endpoint.port = static_cast<uint16_t>(port);
  return endpoint;
}

absl::StatusOr<HttpResponse> httpRequest(const HttpEndpoint& endpoint, const std::string& method,
                                         const std::string& target, const std::string& body,
                                         std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  absl::StatusOr<int> fd = connectTo(endpoint, deadline);
  if (!fd.ok()) {
    return fd.status();
  }
  Fd socket(*fd);
  std::string request =
      fmt::format("{} {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: meshctl\r\nAccept: "
                  "application/json\r\nConnection: close\r\n",
                  method, target, endpoint.host, endpoint.port);
  if (!body.empty() || method == "POST" || method == "PUT") {
    request += fmt::format("Content-Type: application/yaml\r\nContent-Length: {}\r\n", body.size());
  }
  request += "\r\n";
  request += body;
  if (absl::Status sent = sendAll(socket.get(), request, deadline); !sent.ok()) {
    return sent;
  }
  absl::StatusOr<std::string> raw = readAll(socket.get(), deadline);
  if (!raw.ok()) {
    return raw.status();
  }
  return parseResponse(*raw);
}

} // namespace meshd::cli
