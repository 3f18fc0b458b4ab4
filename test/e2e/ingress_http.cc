// Requests to the ingress gateway (ingress_http.h).
#include "test/e2e/ingress_http.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "test/support/http_client.h"

namespace meshd::e2e {

std::string HttpReply::header(const std::string& name) const {
  for (const absl::string_view line : absl::StrSplit(head, "\r\n")) {
    const size_t colon = line.find(':');
    if (colon != absl::string_view::npos && absl::EqualsIgnoreCase(line.substr(0, colon), name)) {
      return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    }
  }
  return {};
}

HttpReply httpCall(uint16_t port, const std::string& method, const std::string& target,
                   const HttpHeaders& headers, const std::string& body,
                   std::chrono::milliseconds timeout) {
  HttpReply reply;
  const auto start = std::chrono::steady_clock::now();
  const int fd = testing::connectLoopback(port, timeout);
  if (fd < 0) {
    return reply;
  }
  bool hasHost = false;
  std::string request = method + " " + target + " HTTP/1.1\r\n";
  for (const auto& [name, value] : headers) {
    hasHost = hasHost || absl::EqualsIgnoreCase(name, "host");
    request += name + ": " + value + "\r\n";
  }
  if (!hasHost) {
    request += "host: 127.0.0.1\r\n";
  }
  request += "connection: close\r\ncontent-length: " + std::to_string(body.size()) + "\r\n\r\n";
  request += body;
  std::string response;
  if (testing::sendAll(fd, request)) {
    response = testing::readUntilClose(fd);
  }
  ::close(fd);
  reply.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  const size_t headEnd = response.find("\r\n\r\n");
  if (!response.starts_with("HTTP/1.") || headEnd == std::string::npos) {
    return reply;
  }
  reply.head = response.substr(0, headEnd);
  reply.body = response.substr(headEnd + 4);
  // A response cut short (the receive timeout) is no response.
  const std::string length = reply.header("content-length");
  if (!length.empty() && reply.body.size() < std::strtoull(length.c_str(), nullptr, 10)) {
    return reply;
  }
  reply.status = std::atoi(response.c_str() + 9);
  return reply;
}

} // namespace meshd::e2e
