// Shared helpers for the HTTP proxy integration tests: bootstrap builder, admin stats, a
// keep-alive capable HTTP/1.1 client connection with full response framing, and curl.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "test/support/http_backend.h"
#include "test/support/mesh_proxy.h"

namespace meshd::testing {

// Removes the common leading indentation of `text` (and a leading newline), then indents every
// line by `spaces`: lets tests write YAML fragments naturally inside raw strings.
std::string reindent(const std::string& text, int spaces);

struct ClusterSpec {
  std::string name;
  std::vector<uint16_t> ports;
  std::string extra; // more cluster fields, e.g. "lb_policy: ROUND_ROBIN"
};

// A bootstrap with one HTTP listener named "http" (stat prefix "ingress") whose route_config is
// `route_config` (a YAML mapping), plus `hcm_extra` fields (YAML), `http_filters` (YAML list items
// before the router) and the given clusters.
std::string httpBootstrap(const std::string& route_config, const std::vector<ClusterSpec>& clusters,
                          const std::string& hcm_extra = "", const std::string& http_filters = "");

// The `static_resources.listeners` block of httpBootstrap (indented for it): one HTTP listener
// named "http" (stat prefix "ingress") whose connection manager gets `hcm_fields` (YAML: its
// route_config or rds, and any other field) and `http_filters` (YAML list items) before the router.
std::string httpListenerYaml(const std::string& hcm_fields, const std::string& http_filters = "");

// A route config that sends everything to `cluster`; `route_extra` adds RouteAction fields
// (YAML, e.g. "timeout: 0.3s").
std::string catchAllRoutes(const std::string& cluster = "backend",
                           const std::string& route_extra = "");

// The admin /stats as a name -> value map.
std::map<std::string, std::string> proxyStats(const MeshProxy& proxy);
// A stat's value ("" when absent).
std::string statOf(const MeshProxy& proxy, const std::string& name);
// Waits (bounded, 10 s) until a stat reaches `value`.
bool statReaches(const MeshProxy& proxy, const std::string& name, const std::string& value);

struct HttpResponse {
  bool complete = false; // a whole response (head and framed body) arrived
  std::string version;   // "HTTP/1.1"
  int status = 0;
  HeaderList headers;
  std::string body;
  bool chunked = false;        // the body came with transfer-encoding: chunked
  std::vector<int> interim;    // 1xx statuses received before this response
  bool closeDelimited = false; // the body ended with the connection
  std::optional<std::string> header(const std::string& name) const;
  std::vector<std::string> headerValues(const std::string& name) const;
  bool has(const std::string& name) const { return header(name).has_value(); }
};

// Builds a request: adds "host: localhost" unless `headers` has a host, and a content-length
// when there is a body (unless `headers` frames it already).
std::string rawRequest(const std::string& method, const std::string& target,
                       const HeaderList& headers = {}, const std::string& body = "",
                       const std::string& version = "HTTP/1.1");

// One client connection to 127.0.0.1:port, kept open across requests.
class HttpConnection {
public:
  explicit HttpConnection(uint16_t port,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  // True once a read saw the peer close (EOF or reset).
  bool peerClosed() const { return eof_; }
  int fd() const { return fd_; }
  bool send(const std::string& raw);
  // Reads the next response (1xx interim responses are collected into `interim`).
  HttpResponse read(bool head_request = false);
  // Reads only until a 1xx interim head arrived (for 100-continue); false otherwise.
  bool readInterim(int expected_status);
  // Sends a request built with rawRequest() and reads its response.
  HttpResponse request(const std::string& method, const std::string& target,
                       const HeaderList& headers = {}, const std::string& body = "");
  // True when the peer closes the connection within `timeout` without sending anything more.
  bool waitForClose(std::chrono::milliseconds timeout = std::chrono::seconds(10));

private:
  bool fill();
  std::optional<std::string> readLine();
  bool readExactly(size_t n, std::string& out);

  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

// Sends one request on a new connection and returns the response.
HttpResponse fetch(uint16_t port, const std::string& method, const std::string& target,
                   const HeaderList& headers = {}, const std::string& body = "");
inline HttpResponse fetchGet(uint16_t port, const std::string& target,
                             const HeaderList& headers = {}) {
  return fetch(port, "GET", target, headers);
}

struct CurlResult {
  std::optional<int> exitCode; // nullopt: it did not finish in time
  std::string output;
  std::string errors;
};
// Runs curl with `args` (bounded by `timeout`).
CurlResult runCurl(const std::vector<std::string>& args,
                   std::chrono::milliseconds timeout = std::chrono::seconds(60));

} // namespace meshd::testing
