// HttpBackend (http_backend.h): a blocking, thread-per-connection HTTP/1.1 server for tests.
#include "test/support/http_backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include "test/support/http_client.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string trim(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t");
  if (first == std::string::npos) {
    return "";
  }
  const size_t last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

std::string reasonPhrase(int status) {
  static const std::map<int, std::string> kReasons = {
      {100, "Continue"},          {200, "OK"},
      {201, "Created"},           {202, "Accepted"},
      {204, "No Content"},        {206, "Partial Content"},
      {301, "Moved Permanently"}, {302, "Found"},
      {304, "Not Modified"},      {400, "Bad Request"},
      {401, "Unauthorized"},      {403, "Forbidden"},
      {404, "Not Found"},         {418, "I'm a teapot"},
      {429, "Too Many Requests"}, {500, "Internal Server Error"},
      {502, "Bad Gateway"},       {503, "Service Unavailable"},
      {504, "Gateway Timeout"},
  };
  const auto it = kReasons.find(status);
  return it == kReasons.end() ? "Status" : it->second;
}

// The number after `prefix` in `path` ("/bytes/10" -> 10); nullopt when it is not a number.
std::optional<size_t> numberAfter(const std::string& path, const std::string& prefix) {
  if (!path.starts_with(prefix)) {
    return std::nullopt;
  }
  size_t value = 0;
  const char* begin = path.data() + prefix.size();
  const char* end = path.data() + path.size();
  const auto [ptr, error] = std::from_chars(begin, end, value);
  if (error != std::errc() || ptr != end || begin == end) {
    return std::nullopt;
  }
  return value;
}

// Reads more bytes into `buffer`; false on EOF, error or when `stopping` is set.
bool readMore(int fd, std::string& buffer, const std::atomic<bool>& stopping) {
  char chunk[65536];
  while (!stopping) {
    pollfd readable{fd, POLLIN, 0};
    const int ready = ::poll(&readable, 1, 50);
    if (ready < 0) {
      return false;
    }
    if (ready == 0) {
      continue;
    }
    const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) {
      return false;
    }
    buffer.append(chunk, static_cast<size_t>(n));
    return true;
  }
  return false;
}

} // namespace

bool equalsIgnoreCase(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<std::string> RecordedRequest::header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (equalsIgnoreCase(key, name)) {
      return value;
    }
  }
  return std::nullopt;
}

std::vector<std::string> RecordedRequest::headerValues(const std::string& name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : headers) {
    if (equalsIgnoreCase(key, name)) {
      out.push_back(value);
    }
  }
  return out;
}

std::string patternBytes(size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<char>('a' + (i * 7919 + i / 26) % 26);
  }
  return out;
}

HttpBackend::HttpBackend(std::string name, const std::string& ip, uint16_t port)
    : name_(std::move(name)), port_(port) {
  listenFd_ = listenOn(ip, port_, 256);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

HttpBackend::~HttpBackend() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    // Unblock connection threads stuck in send() to a peer that stopped reading.
    for (const int fd : openFds_) {
      ::shutdown(fd, SHUT_RDWR);
    }
  }
  changed_.notify_all();
  acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(threads_);
  }
  for (auto& thread : threads) {
    thread.join();
  }
  ::close(listenFd_);
}

std::vector<RecordedRequest> HttpBackend::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

size_t HttpBackend::requestCount() const {
  std::lock_guard lock(mutex_);
  return requests_.size();
}

size_t HttpBackend::requestCount(const std::string& path) const {
  std::lock_guard lock(mutex_);
  return static_cast<size_t>(
      std::count_if(requests_.begin(), requests_.end(),
                    [&](const auto& request) { return request.path() == path; }));
}

bool HttpBackend::waitForRequests(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

bool HttpBackend::sleepInterruptibly(std::chrono::milliseconds duration) {
  std::unique_lock lock(mutex_);
  return !changed_.wait_for(lock, duration, [&] { return stopping_.load(); });
}

void HttpBackend::acceptLoop() {
  while (!stopping_) {
    pollfd pfd{listenFd_, POLLIN, 0};
    if (::poll(&pfd, 1, 50) <= 0) {
      continue;
    }
    const int fd = ::accept(listenFd_, nullptr, nullptr);
    if (fd < 0) {
      continue;
    }
    timeval tv{};
    tv.tv_sec = 20; // a peer that stops reading cannot block a sender for ever
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    // Responses go out in several writes: without this, Nagle's algorithm holds the last one
    // until the peer's delayed ACK (40 ms a response).
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const int id = ++accepted_;
    std::lock_guard lock(mutex_);
    if (stopping_) {
      ::close(fd);
      break;
    }
    openFds_.insert(fd);
    threads_.emplace_back([this, fd, id] { serve(fd, id); });
  }
}

void HttpBackend::serve(int fd, int connection_id) {
  std::string buffer;
  bool open = true;
  while (open && !stopping_) {
    // The head.
    size_t headEnd;
    while ((headEnd = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!readMore(fd, buffer, stopping_)) {
        open = false;
        break;
      }
    }
    if (!open) {
      break;
    }
    RecordedRequest request;
    request.connectionId = connection_id;
    const std::string head = buffer.substr(0, headEnd);
    buffer.erase(0, headEnd + 4);
    size_t lineEnd = head.find("\r\n");
    const std::string requestLine = head.substr(0, lineEnd);
    const size_t space1 = requestLine.find(' ');
    const size_t space2 = requestLine.rfind(' ');
    if (space1 == std::string::npos || space2 == space1) {
      sendAll(fd, "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
      break;
    }
    request.method = requestLine.substr(0, space1);
    request.target = requestLine.substr(space1 + 1, space2 - space1 - 1);
    request.version = requestLine.substr(space2 + 1);
    while (lineEnd != std::string::npos) {
      const size_t start = lineEnd + 2;
      lineEnd = head.find("\r\n", start);
      const std::string line =
          head.substr(start, lineEnd == std::string::npos ? std::string::npos : lineEnd - start);
      const size_t colon = line.find(':');
      if (colon == std::string::npos) {
        continue;
      }
      request.headers.emplace_back(line.substr(0, colon), trim(line.substr(colon + 1)));
    }

    // The body.
    const auto transferEncoding = request.header("transfer-encoding");
    const auto contentLength = request.header("content-length");
    request.chunked =
        transferEncoding && lower(*transferEncoding).find("chunked") != std::string::npos;
    const bool hasBody = request.chunked || (contentLength && *contentLength != "0");
    if (hasBody && buffer.empty()) {
      if (const auto expect = request.header("expect");
          expect && lower(*expect) == "100-continue") {
        sendAll(fd, "HTTP/1.1 100 Continue\r\n\r\n");
      }
    }
    if (request.chunked) {
      bool done = false;
      while (!done && open) {
        size_t crlf;
        while ((crlf = buffer.find("\r\n")) == std::string::npos) {
          if (!readMore(fd, buffer, stopping_)) {
            open = false;
            break;
          }
        }
        if (!open) {
          break;
        }
        size_t size = 0;
        const std::string sizeLine = buffer.substr(0, crlf);
        std::from_chars(sizeLine.data(), sizeLine.data() + sizeLine.size(), size, 16);
        buffer.erase(0, crlf + 2);
        if (size == 0) {
          // Trailers, then an empty line.
          while (true) {
            while ((crlf = buffer.find("\r\n")) == std::string::npos) {
              if (!readMore(fd, buffer, stopping_)) {
                open = false;
                break;
              }
            }
            if (!open) {
              break;
            }
            const bool last = crlf == 0;
            buffer.erase(0, crlf + 2);
            if (last) {
              break;
            }
          }
          done = true;
          break;
        }
        while (buffer.size() < size + 2) {
          if (!readMore(fd, buffer, stopping_)) {
            open = false;
            break;
          }
        }
        if (!open) {
          break;
        }
        request.body.append(buffer, 0, size);
        buffer.erase(0, size + 2);
      }
    } else if (contentLength) {
      size_t length = 0;
      std::from_chars(contentLength->data(), contentLength->data() + contentLength->size(), length);
      while (buffer.size() < length) {
        if (!readMore(fd, buffer, stopping_)) {
          open = false;
          break;
        }
      }
      if (open) {
        request.body = buffer.substr(0, length);
        buffer.erase(0, length);
      }
    }
    if (!open) {
      break;
    }
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    changed_.notify_all();
    open = respond(fd, request);
  }
  {
    std::lock_guard lock(mutex_);
    openFds_.erase(fd);
    ::close(fd);
  }
  ++closed_;
  changed_.notify_all();
}

bool HttpBackend::respond(int fd, const RecordedRequest& request) {
  if (const auto delay = std::chrono::milliseconds(responseDelayMs_.load()); delay.count() > 0) {
    if (!sleepInterruptibly(delay)) {
      return false;
    }
  }
  const std::string path = request.path();
  const bool head = request.method == "HEAD";
  const auto connection = request.header("connection");
  const std::string connectionValue = connection ? lower(*connection) : "";
  bool keepAlive = request.version == "HTTP/1.1"
                       ? connectionValue.find("close") == std::string::npos
                       : connectionValue.find("keep-alive") != std::string::npos;

  int status = 200;
  std::string body;
  enum class Framing { kLength, kChunked, kUntilClose } framing = Framing::kLength;
  HeaderList extra;
  bool closeSilently = false;

  if (const auto answer = answerFor(path)) {
    if (*answer == 0) {
      return false; // closes without answering, like /reset
    }
    status = *answer;
  } else if (path == "/reset") {
    return false;
  }
  if (path == "/garbage") {
    sendAll(fd, "this is not HTTP\r\n\r\n");
    return false;
  }
  if (const auto promised = numberAfter(path, "/truncate/")) {
    // Promises `promised` bytes, sends a tenth of them, then closes.
    const std::string partial = patternBytes(*promised / 10);
    sendAll(fd, "HTTP/1.1 200 OK\r\ncontent-length: " + std::to_string(*promised) + "\r\n\r\n" +
                    partial);
    return false;
  }
  if (path == "/interim") {
    // An unsolicited interim response before the real one.
    if (!sendAll(fd, "HTTP/1.1 100 Continue\r\n\r\n")) {
      return false;
    }
  }
  if (path.starts_with("/echo")) {
    body = "method: " + request.method + "\ntarget: " + request.target +
           "\nversion: " + request.version + "\n";
    for (const auto& [name, value] : request.headers) {
      body += "header: " + name + ": " + value + "\n";
    }
    body += "body-length: " + std::to_string(request.body.size()) + "\n";
    extra.emplace_back("content-type", "text/plain");
  } else if (path == "/mirror") {
    body = request.body;
    extra.emplace_back("content-type",
                       request.header("content-type").value_or("application/octet-stream"));
  } else if (const auto code = numberAfter(path, "/status/")) {
    status = static_cast<int>(*code);
    body = "status " + std::to_string(status);
  } else if (const auto delay = numberAfter(path, "/delay/")) {
    if (!sleepInterruptibly(std::chrono::milliseconds(*delay))) {
      return false;
    }
    body = "delayed";
  } else if (const auto every = numberAfter(path, "/flaky/")) {
    // Counted across connections, so concurrent clients see the same failure share.
    const uint64_t seen = flakyCount_.fetch_add(1);
    status = *every > 0 && seen % *every == 0 ? 503 : 200;
    body = status == 200 ? "ok" : "flaky failure";
  } else if (const auto n = numberAfter(path, "/bytes/")) {
    body = patternBytes(*n);
  } else if (const auto chunked = numberAfter(path, "/chunked/")) {
    body = patternBytes(*chunked);
    framing = request.version == "HTTP/1.1" ? Framing::kChunked : Framing::kUntilClose;
  } else if (const auto unframed = numberAfter(path, "/no-length/")) {
    body = patternBytes(*unframed);
    framing = Framing::kUntilClose;
  } else if (path == "/close") {
    body = "closing";
    keepAlive = false;
  } else if (path == "/interim") {
    body = "after interim";
  } else if (path == "/close-silently") {
    body = "closing silently";
    closeSilently = true;
  } else {
    body = "ok";
  }
  const bool bodiless = status < 200 || status == 204 || status == 304;
  if (bodiless) {
    body.clear();
  }
  if (framing == Framing::kUntilClose) {
    keepAlive = false;
  }

  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(status) + "\r\n";
  if (!name_.empty()) {
    out += "x-backend: " + name_ + "\r\n";
  }
  out += "x-backend-target: " + request.target + "\r\n";
  out += "x-backend-connection: " + std::to_string(request.connectionId) + "\r\n";
  for (const auto& [name, value] : extra) {
    out += name + ": " + value + "\r\n";
  }
  for (const auto& value : request.headerValues("x-backend-respond-header")) {
    out += value + "\r\n";
  }
  if (!bodiless) {
    if (framing == Framing::kLength) {
      out += "content-length: " + std::to_string(body.size()) + "\r\n";
    } else if (framing == Framing::kChunked) {
      out += "transfer-encoding: chunked\r\n";
    }
  }
  if (!keepAlive) {
    out += "connection: close\r\n";
  }
  out += "\r\n";
  if (!sendAll(fd, out)) {
    return false;
  }
  if (!head && !bodiless) {
    if (framing == Framing::kChunked) {
      // A 1-byte chunk with an extension first, then pieces of about a fifth of the body.
      const size_t piece = std::max<size_t>(1, body.size() / 5);
      size_t offset = 0;
      bool first = true;
      while (offset < body.size()) {
        const size_t size = first ? 1 : std::min(piece, body.size() - offset);
        char hex[32];
        const auto result = std::to_chars(hex, hex + sizeof(hex), size, 16);
        std::string chunk(hex, result.ptr);
        chunk += first ? ";ext=1\r\n" : "\r\n";
        chunk.append(body, offset, size);
        chunk += "\r\n";
        if (!sendAll(fd, chunk)) {
          return false;
        }
        offset += size;
        first = false;
      }
      if (!sendAll(fd, "0\r\n\r\n")) {
        return false;
      }
    } else if (!body.empty() && !sendAll(fd, body)) {
      return false;
    }
  }
  return keepAlive && !closeSilently;
}

void HttpBackend::setAnswer(const std::string& path, std::optional<int> status) {
  std::lock_guard lock(mutex_);
  if (status) {
    answers_[path] = *status;
  } else {
    answers_.erase(path);
  }
}

std::optional<int> HttpBackend::answerFor(const std::string& path) const {
  std::lock_guard lock(mutex_);
  const auto found = answers_.find(path);
  return found != answers_.end() ? std::optional(found->second) : std::nullopt;
}

} // namespace meshd::testing
