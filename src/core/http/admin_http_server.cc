// AdminHttpServer (admin_http_server.h): llhttp for parsing, one session per connection,
// keep-alive, bounded request size.
#include "core/http/admin_http_server.h"

#include <algorithm>
#include <array>

#include "absl/strings/match.h"
#include "boost/asio/write.hpp"
#include "core/logging.h"
#include "fmt/format.h"
#include "llhttp.h"

namespace meshd::core {
namespace {

constexpr size_t kMaxHeaderKept = 64;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::string percentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hexValue(text[i + 1]) >= 0 &&
               hexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(text[i + 1]) * 16 + hexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

const char* reasonPhrase(int status) {
  switch (status) {
  case 200: return "OK";
  case 201: return "Created";
  case 400: return "Bad Request";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 409: return "Conflict";
  case 413: return "Payload Too Large";
  case 422: return "Unprocessable Entity";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
  default: return "Unknown";
  }
}

} // namespace

std::map<std::string, std::string> parseQueryString(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (!pair.empty()) {
      out[percentDecode(pair.substr(0, eq))] =
          eq == std::string_view::npos ? "" : percentDecode(pair.substr(eq + 1));
    }
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  return out;
}

// One client connection: parse requests with llhttp, answer each in order, keep alive.
class AdminHttpServer::Session : public std::enable_shared_from_this<Session> {
public:
  Session(AdminHttpServer& server, boost::asio::ip::tcp::socket socket)
      : server_(server), socket_(std::move(socket)) {
    llhttp_settings_init(&settings_);
    settings_.on_url = [](llhttp_t* p, const char* at, size_t n) -> int {
      return self(p)->append(self(p)->url_, at, n);
    };
    settings_.on_body = [](llhttp_t* p, const char* at, size_t n) -> int {
      return self(p)->append(self(p)->body_, at, n);
    };
    settings_.on_header_field = [](llhttp_t* p, const char* at, size_t n) -> int {
      return self(p)->appendSmall(self(p)->headerName_, at, n);
    };
    settings_.on_header_value = [](llhttp_t* p, const char* at, size_t n) -> int {
      return self(p)->appendSmall(self(p)->headerValue_, at, n);
    };
    settings_.on_header_value_complete = [](llhttp_t* p) -> int {
      self(p)->headerComplete();
      return 0;
    };
    settings_.on_headers_complete = [](llhttp_t* p) -> int {
      // Refuse a body announced too large before it is sent.
      if (p->content_length > self(p)->server_.maxRequestBytes_) {
        self(p)->tooLarge_ = true;
        return -1;
      }
      return 0;
    };
    settings_.on_message_complete = [](llhttp_t* p) -> int {
      self(p)->complete_ = true;
      return HPE_PAUSED;
    };
    llhttp_init(&parser_, HTTP_REQUEST, &settings_);
    parser_.data = this;
  }

  void start() { read(); }

private:
  static Session* self(llhttp_t* parser) { return static_cast<Session*>(parser->data); }

  int append(std::string& target, const char* at, size_t n) {
    if (url_.size() + body_.size() + n > server_.maxRequestBytes_) {
      tooLarge_ = true;
      return -1;
    }
    target.append(at, n);
    return 0;
  }

  // Header names and values are only kept for the headers the server looks at (Expect), so a
  // bounded prefix is enough.
  int appendSmall(std::string& target, const char* at, size_t n) {
    target.append(at, std::min(n, kMaxHeaderKept - std::min(target.size(), kMaxHeaderKept)));
    return 0;
  }

  void headerComplete() {
    if (absl::EqualsIgnoreCase(headerName_, "expect") &&
        absl::EqualsIgnoreCase(headerValue_, "100-continue")) {
      expectContinue_ = true;
    }
    headerName_.clear();
    headerValue_.clear();
  }

  void read() {
    socket_.async_read_some(
        boost::asio::buffer(readBuffer_),
        [self = shared_from_this()](const boost::system::error_code& error, size_t n) {
          if (!error) {
            self->pending_.append(self->readBuffer_.data(), n);
            self->process();
          }
        });
  }

  void process() {
    const llhttp_errno_t rc = llhttp_execute(&parser_, pending_.data(), pending_.size());
    if (rc == HPE_PAUSED && complete_) {
      // Keep what follows this request for the next one (pipelining).
      const size_t consumed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - pending_.data());
      pending_.erase(0, consumed);
      llhttp_resume(&parser_);
      respond();
      return;
    }
    if (rc != HPE_OK) {
      AdminResponse response =
          tooLarge_ ? AdminResponse{413, "text/plain; charset=UTF-8", "request too large\n"}
                    : AdminResponse{400, "text/plain; charset=UTF-8",
                                    fmt::format("bad request: {}\n", llhttp_errno_name(rc))};
      write(response, /*keep_alive=*/false);
      return;
    }
    pending_.clear();
    if (expectContinue_ && !continueSent_) {
      // The client waits for this before sending the body (curl does for large bodies).
      continueSent_ = true;
      boost::asio::async_write(
          socket_, boost::asio::buffer(kContinue),
          [self = shared_from_this()](const boost::system::error_code& error, size_t) {
            if (!error) {
              self->read();
            }
          });
      return;
    }
    read();
  }

  void respond() {
    AdminRequest request;
    request.method = llhttp_method_name(static_cast<llhttp_method_t>(parser_.method));
    const size_t question = url_.find('?');
    request.path = url_.substr(0, question);
    if (question != std::string::npos) {
      request.query = parseQueryString(std::string_view(url_).substr(question + 1));
    }
    request.body = std::move(body_);
    const bool keepAlive = llhttp_should_keep_alive(&parser_) != 0;
    url_.clear();
    body_.clear();
    complete_ = false;
    expectContinue_ = false;
    continueSent_ = false;
    write(server_.dispatch(request), keepAlive);
  }

  void write(const AdminResponse& response, bool keep_alive) {
    out_ =
        fmt::format("HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\n{}\r\n{}",
                    response.status, reasonPhrase(response.status), response.contentType,
                    response.body.size(), keep_alive ? "" : "connection: close\r\n", response.body);
    boost::asio::async_write(
        socket_, boost::asio::buffer(out_),
        [self = shared_from_this(), keep_alive](const boost::system::error_code& error, size_t) {
          if (error || !keep_alive) {
            boost::system::error_code ignored;
            self->socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
            return;
          }
          self->process(); // a pipelined request may already be buffered
        });
  }

  AdminHttpServer& server_;
  boost::asio::ip::tcp::socket socket_;
  llhttp_settings_t settings_;
  llhttp_t parser_;
  std::array<char, 4096> readBuffer_;
  std::string pending_;
  std::string url_;
  std::string body_;
  std::string out_;
  std::string headerName_;
  std::string headerValue_;
  bool complete_ = false;
  bool tooLarge_ = false;
  bool expectContinue_ = false;
  bool continueSent_ = false;
};

AdminHttpServer::AdminHttpServer(EventLoop& loop, size_t maxRequestBytes)
    : loop_(loop), acceptor_(loop.context()), maxRequestBytes_(maxRequestBytes) {
  route("/", "this list", [this](const AdminRequest&) {
    std::string body = "admin commands are:\n";
    for (const auto& [path, entry] : routes_) {
      body += fmt::format("  {}: {}\n", path, entry.help);
    }
    for (const auto& [prefix, entry] : prefixRoutes_) {
      body += fmt::format("  {}...: {}\n", prefix, entry.help);
    }
    return AdminResponse{200, "text/plain; charset=UTF-8", body};
  });
}

AdminHttpServer::~AdminHttpServer() {
  close();
}

void AdminHttpServer::route(const std::string& path, std::string help, AdminHandler handler) {
  routes_[path] = Route{std::move(help), std::move(handler)};
}

void AdminHttpServer::routePrefix(const std::string& prefix, std::string help,
                                  AdminHandler handler) {
  prefixRoutes_[prefix] = Route{std::move(help), std::move(handler)};
}

absl::StatusOr<boost::asio::ip::tcp::endpoint> AdminHttpServer::listen(const std::string& address,
                                                                       uint16_t port) {
  boost::system::error_code error;
  const auto ip = boost::asio::ip::make_address(address, error);
  if (error) {
    return absl::InvalidArgumentError(fmt::format("bad admin address '{}'", address));
  }
  const boost::asio::ip::tcp::endpoint endpoint(ip, port);
  acceptor_.open(endpoint.protocol(), error);
  if (!error) {
    acceptor_.set_option(boost::asio::socket_base::reuse_address(true), error);
  }
  if (!error) {
    acceptor_.bind(endpoint, error);
  }
  if (!error) {
    acceptor_.listen(boost::asio::socket_base::max_listen_connections, error);
  }
  if (error) {
    return absl::UnavailableError(
        fmt::format("cannot listen on {}:{}: {}", address, port, error.message()));
  }
  accept();
  return acceptor_.local_endpoint();
}

void AdminHttpServer::close() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void AdminHttpServer::accept() {
  acceptor_.async_accept(loop_.context(), [this](const boost::system::error_code& error,
                                                 boost::asio::ip::tcp::socket socket) {
    if (error == boost::asio::error::operation_aborted) {
      return;
    }
    if (!error) {
      std::make_shared<Session>(*this, std::move(socket))->start();
    }
    accept();
  });
}

AdminResponse AdminHttpServer::dispatch(const AdminRequest& request) const {
  const auto it = routes_.find(request.path);
  if (it != routes_.end()) {
    return it->second.handler(request);
  }
  // Prefixes sort before the paths they start, so the longest match is the last one not after
  // the path.
  for (auto prefix = prefixRoutes_.upper_bound(request.path); prefix != prefixRoutes_.begin();) {
    --prefix;
    if (request.path.starts_with(prefix->first)) {
      return prefix->second.handler(request);
    }
  }
  return AdminResponse{404, "text/plain; charset=UTF-8",
                       fmt::format("no admin endpoint '{}'; GET / lists them\n", request.path)};
}

} // namespace meshd::core
