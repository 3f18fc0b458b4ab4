// The HTTP proxy test helpers (http_test_helpers.h).
#include "test/integration/proxy/http_test_helpers.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <regex>
#include <sstream>

#include "fmt/format.h"
#include "test/support/http_client.h"
#include "test/support/process.h"

namespace meshd::testing {

using namespace std::chrono_literals;

std::string reindent(const std::string& text, int spaces) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  while (!lines.empty() && lines.front().find_first_not_of(" \t") == std::string::npos) {
    lines.erase(lines.begin());
  }
  while (!lines.empty() && lines.back().find_first_not_of(" \t") == std::string::npos) {
    lines.pop_back();
  }
  size_t common = std::string::npos;
  for (const auto& line : lines) {
    const size_t first = line.find_first_not_of(' ');
    if (first != std::string::npos) {
      common = std::min(common, first);
    }
  }
  std::string out;
  const std::string pad(static_cast<size_t>(spaces), ' ');
  for (const auto& line : lines) {
    if (line.find_first_not_of(' ') == std::string::npos) {
      out += "\n";
      continue;
    }
    out += pad + line.substr(common) + "\n";
  }
  return out;
}

std::string httpBootstrap(const std::string& route_config, const std::vector<ClusterSpec>& clusters,
                          const std::string& hcm_extra, const std::string& http_filters) {
  std::string clusterYaml;
  for (const auto& cluster : clusters) {
    std::string endpoints;
    for (const uint16_t port : cluster.ports) {
      endpoints +=
          fmt::format("        - endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, "
                      "port_value: {} }} }} }}\n",
                      port);
    }
    clusterYaml += fmt::format(R"(  - name: {0}
    type: STATIC
    connect_timeout: 1s
{1}    load_assignment:
      cluster_name: {0}
      endpoints:
      - lb_endpoints:
{2})",
                               cluster.name, reindent(cluster.extra, 4), endpoints);
  }
  return fmt::format(
      R"(node: {{ id: http-test-proxy, cluster: test }}
admin:
  address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
static_resources:
{}  clusters:
{})",
      httpListenerYaml(reindent(hcm_extra, 0) + "route_config:\n" + reindent(route_config, 2),
                       http_filters),
      clusterYaml);
}

std::string httpListenerYaml(const std::string& hcm_fields, const std::string& http_filters) {
  return fmt::format(R"(  listeners:
  - name: http
    address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
{}          http_filters:
{}          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
)",
                     reindent(hcm_fields, 10), reindent(http_filters, 10));
}

std::string catchAllRoutes(const std::string& cluster, const std::string& route_extra) {
  return fmt::format(R"(
name: local
virtual_hosts:
- name: all
  domains: ["*"]
  routes:
  - match: {{ prefix: "/" }}
    route:
      cluster: {}
{})",
                     cluster, reindent(route_extra, 6));
}

std::map<std::string, std::string> proxyStats(const MeshProxy& proxy) {
  std::map<std::string, std::string> out;
  const std::string text = httpGet(proxy.adminPort(), "/stats").body;
  const std::regex line("([^:\n]+): ([^\n]*)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), line); it != std::sregex_iterator();
       ++it) {
    out[(*it)[1].str()] = (*it)[2].str();
  }
  return out;
}

std::string statOf(const MeshProxy& proxy, const std::string& name) {
  const auto stats = proxyStats(proxy);
  const auto it = stats.find(name);
  return it == stats.end() ? "" : it->second;
}

bool statReaches(const MeshProxy& proxy, const std::string& name, const std::string& value) {
  return waitFor([&] { return statOf(proxy, name) == value; }, 10s);
}

std::optional<std::string> HttpResponse::header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (equalsIgnoreCase(key, name)) {
      return value;
    }
  }
  return std::nullopt;
}

std::vector<std::string> HttpResponse::headerValues(const std::string& name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : headers) {
    if (equalsIgnoreCase(key, name)) {
      out.push_back(value);
    }
  }
  return out;
}

std::string rawRequest(const std::string& method, const std::string& target,
                       const HeaderList& headers, const std::string& body,
                       const std::string& version) {
  std::string out = method + " " + target + " " + version + "\r\n";
  bool hasHost = false;
  bool framed = false;
  for (const auto& [name, value] : headers) {
    hasHost = hasHost || equalsIgnoreCase(name, "host");
    framed = framed || equalsIgnoreCase(name, "content-length") ||
             equalsIgnoreCase(name, "transfer-encoding");
  }
  if (!hasHost) {
    out += "host: localhost\r\n";
  }
  for (const auto& [name, value] : headers) {
    out += name + ": " + value + "\r\n";
  }
  if (!framed && (!body.empty() || method == "POST" || method == "PUT")) {
    out += "content-length: " + std::to_string(body.size()) + "\r\n";
  }
  out += "\r\n" + body;
  return out;
}

HttpConnection::HttpConnection(uint16_t port, std::chrono::milliseconds timeout)
    : fd_(connectLoopback(port, timeout)) {}

HttpConnection::~HttpConnection() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

bool HttpConnection::send(const std::string& raw) {
  return fd_ >= 0 && sendAll(fd_, raw);
}

bool HttpConnection::fill() {
  if (fd_ < 0 || eof_) {
    return false;
  }
  char chunk[65536];
  const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0); // bounded by SO_RCVTIMEO
  if (n <= 0) {
    if (n == 0 || errno == ECONNRESET) {
      eof_ = true;
    }
    return false;
  }
  buffer_.append(chunk, static_cast<size_t>(n));
  return true;
}

std::optional<std::string> HttpConnection::readLine() {
  size_t end;
  while ((end = buffer_.find("\r\n")) == std::string::npos) {
    if (!fill()) {
      return std::nullopt;
    }
  }
  std::string line = buffer_.substr(0, end);
  buffer_.erase(0, end + 2);
  return line;
}

bool HttpConnection::readExactly(size_t n, std::string& out) {
  while (buffer_.size() < n) {
    if (!fill()) {
      return false;
    }
  }
  out.append(buffer_, 0, n);
  buffer_.erase(0, n);
  return true;
}

namespace {

std::string trimmed(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t");
  if (first == std::string::npos) {
    return "";
  }
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

std::string lowered(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

} // namespace

bool HttpConnection::readInterim(int expected_status) {
  const auto statusLine = readLine();
  if (!statusLine || statusLine->size() < 12) {
    return false;
  }
  const int status = std::atoi(statusLine->c_str() + 9);
  while (true) {
    const auto line = readLine();
    if (!line) {
      return false;
    }
    if (line->empty()) {
      break;
    }
  }
  return status == expected_status;
}

HttpResponse HttpConnection::read(bool head_request) {
  HttpResponse response;
  while (true) {
    const auto statusLine = readLine();
    if (!statusLine || statusLine->size() < 12 || !statusLine->starts_with("HTTP/1.")) {
      return response;
    }
    response.version = statusLine->substr(0, 8);
    response.status = std::atoi(statusLine->c_str() + 9);
    response.headers.clear();
    while (true) {
      const auto line = readLine();
      if (!line) {
        return response;
      }
      if (line->empty()) {
        break;
      }
      const size_t colon = line->find(':');
      if (colon != std::string::npos) {
        response.headers.emplace_back(line->substr(0, colon), trimmed(line->substr(colon + 1)));
      }
    }
    if (response.status >= 100 && response.status < 200 && response.status != 101) {
      response.interim.push_back(response.status);
      continue;
    }
    break;
  }
  if (head_request || response.status == 204 || response.status == 304 || response.status == 101) {
    response.complete = true;
    return response;
  }
  const auto te = response.header("transfer-encoding");
  const auto length = response.header("content-length");
  if (te && lowered(*te).find("chunked") != std::string::npos) {
    response.chunked = true;
    while (true) {
      const auto sizeLine = readLine();
      if (!sizeLine) {
        return response;
      }
      size_t size = 0;
      std::from_chars(sizeLine->data(), sizeLine->data() + sizeLine->size(), size, 16);
      if (size == 0) {
        while (true) { // trailers
          const auto trailer = readLine();
          if (!trailer) {
            return response;
          }
          if (trailer->empty()) {
            break;
          }
        }
        break;
      }
      std::string crlf;
      if (!readExactly(size, response.body) || !readExactly(2, crlf)) {
        return response;
      }
    }
  } else if (length) {
    size_t size = 0;
    std::from_chars(length->data(), length->data() + length->size(), size);
    if (!readExactly(size, response.body)) {
      return response;
    }
  } else {
    while (fill()) {
    }
    if (!eof_) {
      return response; // timed out
    }
    response.body = std::move(buffer_);
    buffer_.clear();
    response.closeDelimited = true;
  }
  response.complete = true;
  return response;
}

HttpResponse HttpConnection::request(const std::string& method, const std::string& target,
                                     const HeaderList& headers, const std::string& body) {
  if (!send(rawRequest(method, target, headers, body))) {
    return {};
  }
  return read(method == "HEAD");
}

bool HttpConnection::waitForClose(std::chrono::milliseconds timeout) {
  if (fd_ < 0) {
    return false;
  }
  if (!buffer_.empty()) {
    return false;
  }
  if (eof_) {
    return true;
  }
  pollfd readable{fd_, POLLIN, 0};
  if (::poll(&readable, 1, static_cast<int>(timeout.count())) <= 0) {
    return false;
  }
  char byte;
  const ssize_t n = ::recv(fd_, &byte, 1, 0);
  if (n == 0) {
    eof_ = true;
    return true;
  }
  return n < 0 && errno == ECONNRESET;
}

HttpResponse fetch(uint16_t port, const std::string& method, const std::string& target,
                   const HeaderList& headers, const std::string& body) {
  HttpConnection connection(port);
  return connection.request(method, target, headers, body);
}

CurlResult runCurl(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {"curl", "--silent", "--show-error", "--max-time", "30"};
  argv.insert(argv.end(), args.begin(), args.end());
  Process curl(ProcessOptions{.argv = argv});
  CurlResult result;
  result.exitCode = curl.wait(timeout);
  result.output = curl.output();
  result.errors = curl.errors();
  return result;
}

} // namespace meshd::testing
