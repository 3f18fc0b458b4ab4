// HTTP/1.1 requests to a mesh's ingress gateway on the host's 127.0.0.1 (one request per
// connection, bounded waits), with the headers the tasks need (Host, end-user, cookie, form
// bodies) and the time each took.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace meshd::e2e {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpReply {
  int status = 0;   // 0: no (complete) response
  std::string head; // status line and headers
  std::string body;
  std::chrono::milliseconds elapsed{0};

  // The first value of a response header (case-insensitive name), empty when absent.
  std::string header(const std::string& name) const;
};

HttpReply httpCall(uint16_t port, const std::string& method, const std::string& target,
                   const HttpHeaders& headers = {}, const std::string& body = {},
                   std::chrono::milliseconds timeout = std::chrono::seconds(20));

} // namespace meshd::e2e
