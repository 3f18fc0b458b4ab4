// A real HTTP/1.1 server for proxy tests: keep-alive, pipelining, content-length and chunked
// request bodies; records every request and answers according to its path (see HttpBackend).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace meshd::testing {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// One request as the backend received it.
struct RecordedRequest {
  std::string method;
  std::string target;  // as sent: origin form, with the query string
  std::string version; // "HTTP/1.1"
  HeaderList headers;  // in arrival order, names as sent
  std::string body;    // de-chunked
  bool chunked = false;
  int connectionId = 0; // 1, 2, ... in accept order

  std::string path() const { return target.substr(0, target.find('?')); }
  // The first value of a header (names compared case-insensitively).
  std::optional<std::string> header(const std::string& name) const;
  // Every value of a header, in order.
  std::vector<std::string> headerValues(const std::string& name) const;
  bool has(const std::string& name) const { return header(name).has_value(); }
};

// The body /bytes/N and /chunked/N send: a deterministic, position-dependent pattern.
std::string patternBytes(size_t n);

// Case-insensitive ASCII comparison of header names.
bool equalsIgnoreCase(const std::string& a, const std::string& b);

// Serves 127.0.0.1:<port 0> with one thread per connection. Responses by path (query ignored):
//   /echo...          200, text body describing the request: "method: M", "target: T",
//                     "version: V", one "header: name: value" line per header, "body-length: N"
//   /mirror           200 with the request body as the response body
//   /status/N         status N (no body for 1xx, 204 and 304)
//   /delay/MS         waits MS ms (cut short when the server stops), then 200 "delayed"
//   /flaky/N          503 "flaky failure" for the 1st, (N+1)th, (2N+1)th ... /flaky request the
//                     backend gets (counted across connections), 200 "ok" for the others
//   /bytes/N          N bytes of patternBytes(N) with content-length
//   /chunked/N        the same N bytes in several chunks (transfer-encoding: chunked)
//   /no-length/N      the same N bytes with neither content-length nor chunking, then closes
//   /close            200 with "connection: close", then closes
//   /close-silently   200 with keep-alive framing, then closes without saying so
//   /reset            reads the request, then closes without answering
//   /garbage          answers with bytes that are not HTTP, then closes
//   /truncate/N       promises N bytes (content-length), sends N/10, then closes
//   /interim          an unsolicited "100 Continue", then 200 "after interim"
//   anything else     200 "ok"
// HEAD gets the headers GET would get (content-length included) and no body. Every response
// carries "x-backend: NAME" (when a name is given), "x-backend-target: <target>" and
// "x-backend-connection: <id>"; each request header "x-backend-respond-header: name: value" adds
// that header to the response. A request with "expect: 100-continue" is answered with an interim
// 100 first. HTTP/1.0 requests without keep-alive and "connection: close" requests end the
// connection after the response.
class HttpBackend {
public:
  // Listens on ip:port (port 0: one the kernel picks; see port()).
  explicit HttpBackend(std::string name = {}, const std::string& ip = "127.0.0.1",
                       uint16_t port = 0);
  ~HttpBackend();
  HttpBackend(const HttpBackend&) = delete;
  HttpBackend& operator=(const HttpBackend&) = delete;

  uint16_t port() const { return port_; }
  const std::string& name() const { return name_; }

  std::vector<RecordedRequest> requests() const; // a copy
  size_t requestCount() const;
  int connectionsAccepted() const { return accepted_.load(); }
  int connectionsClosed() const { return closed_.load(); } // ended by either side
  // Every response from now on waits this long first (a slow endpoint); 0 (the default): none.
  void setResponseDelay(std::chrono::milliseconds delay) { responseDelayMs_ = delay.count(); }
  // Waits until at least `n` requests were recorded; false on timeout.
  bool waitForRequests(size_t n, std::chrono::milliseconds timeout) const;
  // From now on, `path` (exactly, query ignored) is answered with `status` (body "ok" for a path
  // without a rule above; 0: the connection closes without an answer); nullopt: back to the rules
  // above. For health check paths whose answer changes during a test.
  void setAnswer(const std::string& path, std::optional<int> status);
  // Requests recorded for `path`.
  size_t requestCount(const std::string& path) const;

private:
  void acceptLoop();
  void serve(int fd, int connection_id);
  // Answers one request; false when the connection must end.
  bool respond(int fd, const RecordedRequest& request);
  bool sleepInterruptibly(std::chrono::milliseconds duration);
  std::optional<int> answerFor(const std::string& path) const;

  std::string name_;
  int listenFd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::atomic<int> closed_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> responseDelayMs_{0};
  std::atomic<uint64_t> flakyCount_{0};

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<RecordedRequest> requests_;
  std::map<std::string, int> answers_; // setAnswer
  std::set<int> openFds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

} // namespace meshd::testing
