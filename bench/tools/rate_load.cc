// rate_load: a small open-loop (fixed-rate) HTTP/1.1 load generator for bench/http_bench.sh, since
// wrk only runs closed loops and wrk2 is not available.
//
// Request i is scheduled at start + i / rate, whatever happened to the earlier ones, and goes out
// on the next free keep-alive connection (no pipelining: a connection carries one request at a
// time). When every connection is busy the request waits, and its latency is measured from its
// scheduled time, not from when it was written, so a stalled server shows up in the percentiles
// instead of silently lowering the rate (no coordinated omission).
//
// Every run is bounded: rate * duration requests at most, then at most --timeout seconds to
// collect the outstanding responses (those still missing count as timeouts). Only loopback
// addresses are accepted. Results go to stdout as key=value lines.
//
// Usage: rate_load --rate 2000 --duration 10 --connections 16 [--timeout 2] http://127.0.0.1:8080/
#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;
constexpr int64_t kMaxRequests = 10'000'000; // bounds the latency log (80 MB)
constexpr int kMaxConnections = 4096;
constexpr size_t kMaxHeadBytes = size_t{64} * 1024;
constexpr uint64_t kTimerTag = UINT64_MAX;

int64_t nowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kNsPerSecond + ts.tv_nsec;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool containsTokenIgnoreCase(std::string_view list, std::string_view token) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string_view::npos) {
      end = list.size();
    }
    std::string_view item = list.substr(start, end - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
      item.remove_prefix(1);
    }
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) {
      item.remove_suffix(1);
    }
    if (equalsIgnoreCase(item, token)) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

// Incremental parser of one HTTP/1.x response: Content-Length, chunked or read-until-close bodies.
class ResponseParser {
public:
  enum class Result { kNeedMore, kDone, kError };

  void reset() {
    buffer_.clear();
    pos_ = 0;
    stage_ = Stage::kHead;
    status_ = 0;
    keepAlive_ = true;
    remaining_ = 0;
  }

  Result feed(std::string_view data) {
    buffer_.append(data);
    const Result result = advance();
    buffer_.erase(0, pos_);
    pos_ = 0;
    if (result == Result::kDone && !buffer_.empty()) {
      return Result::kError; // bytes after the response although nothing was pipelined
    }
    return result;
  }

  // The peer closed the connection: a read-until-close body ends here, anything else is cut short.
  Result finishOnEof() const {
    return stage_ == Stage::kUntilClose ? Result::kDone : Result::kError;
  }

  int status() const { return status_; }
  bool keepAlive() const { return keepAlive_; }

private:
  enum class Stage { kHead, kBody, kChunkSize, kChunkData, kChunkDataEnd, kTrailers, kUntilClose };

  Result advance() {
    while (true) {
      std::optional<Result> step;
      switch (stage_) {
      case Stage::kHead: step = parseHead(); break;
      case Stage::kBody: step = consumeBody(Stage::kBody); break;
      case Stage::kChunkSize: step = parseChunkSize(); break;
      case Stage::kChunkData: step = consumeBody(Stage::kChunkData); break;
      case Stage::kChunkDataEnd: step = consumeChunkEnd(); break;
      case Stage::kTrailers: step = parseTrailer(); break;
      case Stage::kUntilClose: pos_ = buffer_.size(); return Result::kNeedMore;
      }
      if (step.has_value()) {
        return *step;
      }
    }
  }

  std::optional<std::string_view> takeLine() {
    const size_t end = buffer_.find("\r\n", pos_);
    if (end == std::string::npos) {
      return std::nullopt;
    }
    std::string_view line(buffer_.data() + pos_, end - pos_);
    pos_ = end + 2;
    return line;
  }

  std::optional<Result> parseHead() {
    const size_t end = buffer_.find("\r\n\r\n", pos_);
    if (end == std::string::npos) {
      return buffer_.size() - pos_ > kMaxHeadBytes ? Result::kError : Result::kNeedMore;
    }
    const std::string_view head(buffer_.data() + pos_, end + 2 - pos_);
    pos_ = end + 4;
    bool http10 = false;
    bool chunked = false;
    std::optional<uint64_t> contentLength;
    std::optional<bool> connectionKeepAlive;
    size_t lineStart = 0;
    bool statusLine = true;
    while (lineStart < head.size()) {
      const size_t lineEnd = head.find("\r\n", lineStart);
      const std::string_view line = head.substr(lineStart, lineEnd - lineStart);
      lineStart = lineEnd + 2;
      if (statusLine) {
        statusLine = false;
        if (!parseStatusLine(line, http10)) {
          return Result::kError;
        }
        continue;
      }
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos) {
        return Result::kError;
      }
      const std::string_view name = line.substr(0, colon);
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      if (equalsIgnoreCase(name, "content-length")) {
        uint64_t length = 0;
        const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
        if (ec != std::errc{} || ptr == value.data()) {
          return Result::kError;
        }
        contentLength = length;
      } else if (equalsIgnoreCase(name, "transfer-encoding")) {
        chunked = containsTokenIgnoreCase(value, "chunked");
      } else if (equalsIgnoreCase(name, "connection")) {
        if (containsTokenIgnoreCase(value, "close")) {
          connectionKeepAlive = false;
        } else if (containsTokenIgnoreCase(value, "keep-alive")) {
          connectionKeepAlive = true;
        }
      }
    }
    keepAlive_ = connectionKeepAlive.value_or(!http10);
    if (status_ >= 100 && status_ < 200 && status_ != 101) {
      return std::nullopt; // an interim response: the real one follows
    }
    if (status_ < 200 || status_ == 204 || status_ == 304) {
      return Result::kDone;
    }
    if (chunked) {
      stage_ = Stage::kChunkSize;
    } else if (contentLength.has_value()) {
      remaining_ = *contentLength;
      stage_ = Stage::kBody;
    } else {
      keepAlive_ = false;
      stage_ = Stage::kUntilClose;
    }
    return std::nullopt;
  }

  bool parseStatusLine(std::string_view line, bool& http10) {
    // "HTTP/1.1 200 OK"
    if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ') {
      return false;
    }
    http10 = line[7] == '0';
    const auto [ptr, ec] = std::from_chars(line.data() + 9, line.data() + 12, status_);
    return ec == std::errc{} && ptr == line.data() + 12;
  }

  std::optional<Result> consumeBody(Stage stage) {
    const uint64_t available = buffer_.size() - pos_;
    const uint64_t take = std::min(available, remaining_);
    pos_ += static_cast<size_t>(take);
    remaining_ -= take;
    if (remaining_ > 0) {
      return Result::kNeedMore;
    }
    if (stage == Stage::kBody) {
      return Result::kDone;
    }
    stage_ = Stage::kChunkDataEnd;
    return std::nullopt;
  }

  std::optional<Result> parseChunkSize() {
    const auto line = takeLine();
    if (!line.has_value()) {
      return buffer_.size() - pos_ > kMaxHeadBytes ? Result::kError : Result::kNeedMore;
    }
    const std::string_view digits = line->substr(0, line->find(';'));
    uint64_t size = 0;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
    if (ec != std::errc{} || ptr == digits.data()) {
      return Result::kError;
    }
    remaining_ = size;
    stage_ = size == 0 ? Stage::kTrailers : Stage::kChunkData;
    return std::nullopt;
  }

  std::optional<Result> consumeChunkEnd() {
    if (buffer_.size() - pos_ < 2) {
      return Result::kNeedMore;
    }
    if (buffer_.compare(pos_, 2, "\r\n") != 0) {
      return Result::kError;
    }
    pos_ += 2;
    stage_ = Stage::kChunkSize;
    return std::nullopt;
  }

  std::optional<Result> parseTrailer() {
    const auto line = takeLine();
    if (!line.has_value()) {
      return buffer_.size() - pos_ > kMaxHeadBytes ? Result::kError : Result::kNeedMore;
    }
    return line->empty() ? std::optional<Result>(Result::kDone) : std::nullopt;
  }

  std::string buffer_;
  size_t pos_ = 0;
  Stage stage_ = Stage::kHead;
  int status_ = 0;
  bool keepAlive_ = true;
  uint64_t remaining_ = 0;
};

struct Options {
  double rate = 0;
  double durationSeconds = 0;
  int connections = 16;
  double timeoutSeconds = 2;
  sockaddr_in address{};
  std::string hostHeader;
  std::string path = "/";
};

struct Counters {
  int64_t sent = 0;
  int64_t completed = 0; // full responses, any status (as wrk counts them)
  int64_t errorsConnect = 0;
  int64_t errorsRead = 0;
  int64_t errorsWrite = 0;
  int64_t errorsStatus = 0; // status outside 2xx/3xx (also counted in completed)
  int64_t errorsParse = 0;
  int64_t errorsTimeout = 0;
  int64_t openFailures = 0; // connections that could not be opened before the schedule started
};

enum class ConnState { kClosed, kConnecting, kIdle, kBusy };

struct Connection {
  int fd = -1;
  ConnState state = ConnState::kClosed;
  int64_t scheduledNs = 0; // of the request in flight
  size_t written = 0;      // bytes of the request already written
  bool wantWrite = false;
  ResponseParser parser;
};

// Drives all connections from one epoll loop; requests follow the fixed schedule.
class LoadRun {
public:
  explicit LoadRun(const Options& options)
      : options_(options), connections_(static_cast<size_t>(options.connections)) {
    request_ = "GET " + options.path + " HTTP/1.1\r\nHost: " + options.hostHeader + "\r\n\r\n";
    total_ = std::llround(options.rate * options.durationSeconds);
    latenciesNs_.reserve(static_cast<size_t>(total_));
  }

  ~LoadRun() {
    for (Connection& conn : connections_) {
      closeSocket(conn);
    }
    if (timerFd_ >= 0) {
      close(timerFd_);
    }
    if (epollFd_ >= 0) {
      close(epollFd_);
    }
  }

  LoadRun(const LoadRun&) = delete;
  LoadRun& operator=(const LoadRun&) = delete;

  bool run() {
    epollFd_ = epoll_create1(EPOLL_CLOEXEC);
    timerFd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (epollFd_ < 0 || timerFd_ < 0) {
      std::perror("rate_load: epoll/timerfd");
      return false;
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = kTimerTag;
    epoll_ctl(epollFd_, EPOLL_CTL_ADD, timerFd_, &event);
    connectAll();
    startNs_ = nowNs();
    loop();
    return true;
  }

  void report() const {
    std::vector<int64_t> sorted = latenciesNs_;
    std::sort(sorted.begin(), sorted.end());
    const double elapsed = static_cast<double>(endNs_ - startNs_) / kNsPerSecond;
    const Counters& c = counters_;
    const int64_t errors = c.errorsConnect + c.errorsRead + c.errorsWrite + c.errorsStatus +
                           c.errorsParse + c.errorsTimeout;
    std::printf("target_rps=%.1f\nconnections=%d\nscheduled=%lld\nsent=%lld\ncompleted=%lld\n",
                options_.rate, options_.connections, static_cast<long long>(total_),
                static_cast<long long>(c.sent), static_cast<long long>(c.completed));
    std::printf("elapsed_s=%.3f\nachieved_rps=%.1f\n", elapsed,
                elapsed > 0 ? static_cast<double>(c.completed) / elapsed : 0.0);
    std::printf("p50_us=%.1f\np90_us=%.1f\np99_us=%.1f\nmax_us=%.1f\n", percentileUs(sorted, 50),
                percentileUs(sorted, 90), percentileUs(sorted, 99), percentileUs(sorted, 100));
    std::printf("errors=%lld\nerrors_connect=%lld\nerrors_read=%lld\nerrors_write=%lld\n"
                "errors_status=%lld\nerrors_parse=%lld\nerrors_timeout=%lld\nopen_failures=%lld\n",
                static_cast<long long>(errors), static_cast<long long>(c.errorsConnect),
                static_cast<long long>(c.errorsRead), static_cast<long long>(c.errorsWrite),
                static_cast<long long>(c.errorsStatus), static_cast<long long>(c.errorsParse),
                static_cast<long long>(c.errorsTimeout), static_cast<long long>(c.openFailures));
  }

private:
  // Nearest-rank percentile of sorted latencies, in microseconds.
  static double percentileUs(const std::vector<int64_t>& sorted, double percent) {
    if (sorted.empty()) {
      return 0;
    }
    const double rank = std::ceil(percent / 100.0 * static_cast<double>(sorted.size()));
    const size_t index = static_cast<size_t>(std::max(rank, 1.0)) - 1;
    return static_cast<double>(sorted[std::min(index, sorted.size() - 1)]) / 1000.0;
  }

  int64_t scheduledAt(int64_t index) const {
    return startNs_ +
           static_cast<int64_t>(static_cast<double>(index) * kNsPerSecond / options_.rate);
  }

  // Opens every connection before the clock starts, so that connection set-up is not measured.
  void connectAll() {
    for (size_t i = 0; i < connections_.size(); ++i) {
      if (!startConnect(i)) {
        ++counters_.openFailures;
      }
    }
    const int64_t deadline = nowNs() + 2 * kNsPerSecond;
    while (nowNs() < deadline &&
           std::any_of(connections_.begin(), connections_.end(), [](const Connection& conn) {
             return conn.state == ConnState::kConnecting;
           })) {
      waitAndHandle(100);
    }
    for (size_t i = 0; i < connections_.size(); ++i) {
      if (connections_[i].state == ConnState::kConnecting) {
        ++counters_.openFailures;
        closeSocket(connections_[i]);
      }
    }
  }

  void loop() {
    const int64_t scheduleEnd = scheduledAt(total_);
    const int64_t drainDeadline =
        scheduleEnd + static_cast<int64_t>(options_.timeoutSeconds * kNsPerSecond);
    while (true) {
      const int64_t now = nowNs();
      while (due_ < total_ && scheduledAt(due_) <= now) {
        ++due_;
      }
      dispatch();
      if (finished() == total_) {
        endNs_ = std::max(lastResponseNs_, startNs_);
        return;
      }
      if (now >= drainDeadline) {
        counters_.errorsTimeout += total_ - finished();
        endNs_ = now;
        return;
      }
      armTimer(due_ < total_ ? scheduledAt(due_) : drainDeadline);
      waitAndHandle(100);
    }
  }

  int64_t finished() const {
    const Counters& c = counters_;
    return c.completed + c.errorsConnect + c.errorsRead + c.errorsWrite + c.errorsParse;
  }

  // Hands due requests to free connections: idle ones first, then closed ones (reconnected).
  void dispatch() {
    while (next_ < due_) {
      std::optional<size_t> index = takeFree();
      if (!index.has_value()) {
        return;
      }
      Connection& conn = connections_[*index];
      conn.scheduledNs = scheduledAt(next_);
      conn.written = 0;
      conn.parser.reset();
      ++next_;
      ++counters_.sent;
      if (conn.state == ConnState::kClosed) {
        if (!startConnect(*index)) {
          ++counters_.errorsConnect;
          closeSocket(conn);
        }
        continue; // the request is written once connected
      }
      conn.state = ConnState::kBusy;
      writeRequest(*index);
    }
  }

  std::optional<size_t> takeFree() {
    while (!idle_.empty()) {
      const size_t index = idle_.front();
      idle_.pop_front();
      if (connections_[index].state == ConnState::kIdle) {
        return index;
      }
    }
    for (size_t i = 0; i < connections_.size(); ++i) {
      const size_t index = (closedCursor_ + i) % connections_.size();
      if (connections_[index].state == ConnState::kClosed) {
        closedCursor_ = index + 1;
        return index;
      }
    }
    return std::nullopt;
  }

  bool startConnect(size_t index) {
    Connection& conn = connections_[index];
    conn.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (conn.fd < 0) {
      return false;
    }
    const int one = 1;
    setsockopt(conn.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const int rc =
        connect(conn.fd, reinterpret_cast<const sockaddr*>(&options_.address), sizeof(sockaddr_in));
    if (rc < 0 && errno != EINPROGRESS) {
      close(conn.fd);
      conn.fd = -1;
      return false;
    }
    conn.state = ConnState::kConnecting;
    conn.wantWrite = true;
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    event.data.u64 = index;
    epoll_ctl(epollFd_, EPOLL_CTL_ADD, conn.fd, &event);
    return true;
  }

  void closeSocket(Connection& conn) {
    if (conn.fd >= 0) {
      close(conn.fd); // also removes it from the epoll set
      conn.fd = -1;
    }
    conn.state = ConnState::kClosed;
  }

  void setWantWrite(size_t index, bool want) {
    Connection& conn = connections_[index];
    if (conn.wantWrite == want) {
      return;
    }
    conn.wantWrite = want;
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u);
    event.data.u64 = index;
    epoll_ctl(epollFd_, EPOLL_CTL_MOD, conn.fd, &event);
  }

  void armTimer(int64_t atNs) {
    if (atNs == armedNs_) {
      return;
    }
    armedNs_ = atNs;
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(atNs / kNsPerSecond);
    spec.it_value.tv_nsec = static_cast<long>(atNs % kNsPerSecond);
    timerfd_settime(timerFd_, TFD_TIMER_ABSTIME, &spec, nullptr);
  }

  void waitAndHandle(int timeoutMs) {
    epoll_event events[256];
    const int count = epoll_wait(epollFd_, events, 256, timeoutMs);
    for (int i = 0; i < count; ++i) {
      const epoll_event& event = events[i];
      if (event.data.u64 == kTimerTag) {
        uint64_t expirations = 0;
        [[maybe_unused]] const ssize_t n = read(timerFd_, &expirations, sizeof(expirations));
        armedNs_ = -1;
        continue;
      }
      handleSocket(static_cast<size_t>(event.data.u64), event.events);
    }
  }

  void handleSocket(size_t index, uint32_t events) {
    Connection& conn = connections_[index];
    if (conn.fd < 0) {
      return; // closed earlier in this batch of events
    }
    if (conn.state == ConnState::kConnecting) {
      finishConnect(index, events);
      return;
    }
    if ((events & EPOLLOUT) != 0 && conn.state == ConnState::kBusy) {
      writeRequest(index);
    }
    if (conn.fd >= 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
      readResponse(index);
    }
  }

  void finishConnect(size_t index, uint32_t events) {
    Connection& conn = connections_[index];
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(conn.fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0 || (events & (EPOLLERR | EPOLLHUP)) != 0) {
      closeSocket(conn);
      ++(started() ? counters_.errorsConnect : counters_.openFailures);
      return;
    }
    if ((events & EPOLLOUT) == 0) {
      return;
    }
    if (!started()) {
      conn.state = ConnState::kIdle; // opened ahead of the schedule
      idle_.push_back(index);
      setWantWrite(index, false);
      return;
    }
    conn.state = ConnState::kBusy;
    writeRequest(index);
  }

  bool started() const { return startNs_ != 0; }

  void writeRequest(size_t index) {
    Connection& conn = connections_[index];
    while (conn.written < request_.size()) {
      const ssize_t n = send(conn.fd, request_.data() + conn.written,
                             request_.size() - conn.written, MSG_NOSIGNAL);
      if (n < 0 && errno == EAGAIN) {
        setWantWrite(index, true);
        return;
      }
      if (n <= 0) {
        ++counters_.errorsWrite;
        closeSocket(conn);
        return;
      }
      conn.written += static_cast<size_t>(n);
    }
    setWantWrite(index, false);
  }

  void readResponse(size_t index) {
    Connection& conn = connections_[index];
    char buffer[16384];
    while (conn.fd >= 0) {
      const ssize_t n = recv(conn.fd, buffer, sizeof(buffer), 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
      }
      if (n <= 0) {
        onEof(index, n == 0);
        return;
      }
      if (conn.state != ConnState::kBusy) {
        ++counters_.errorsParse; // bytes nobody asked for
        closeSocket(conn);
        return;
      }
      const auto result = conn.parser.feed(std::string_view(buffer, static_cast<size_t>(n)));
      if (result == ResponseParser::Result::kError) {
        ++counters_.errorsParse;
        closeSocket(conn);
      } else if (result == ResponseParser::Result::kDone) {
        completeResponse(index);
      }
    }
  }

  void onEof(size_t index, bool orderly) {
    Connection& conn = connections_[index];
    if (conn.state == ConnState::kBusy) {
      if (orderly && conn.parser.finishOnEof() == ResponseParser::Result::kDone) {
        completeResponse(index);
      } else {
        ++counters_.errorsRead;
      }
    }
    closeSocket(conn); // an idle keep-alive connection closed by the server is not an error
  }

  void completeResponse(size_t index) {
    Connection& conn = connections_[index];
    lastResponseNs_ = nowNs();
    latenciesNs_.push_back(lastResponseNs_ - conn.scheduledNs);
    ++counters_.completed;
    const int status = conn.parser.status();
    if (status < 200 || status >= 400) {
      ++counters_.errorsStatus;
    }
    if (conn.parser.keepAlive()) {
      conn.state = ConnState::kIdle;
      idle_.push_back(index);
    } else {
      closeSocket(conn);
    }
  }

  const Options& options_;
  std::vector<Connection> connections_;
  std::deque<size_t> idle_;
  size_t closedCursor_ = 0;
  std::string request_;
  int64_t total_ = 0;
  int64_t due_ = 0;  // requests whose scheduled time has come
  int64_t next_ = 0; // next request to hand to a connection
  int64_t startNs_ = 0;
  int64_t endNs_ = 0;
  int64_t lastResponseNs_ = 0;
  int64_t armedNs_ = -1;
  int epollFd_ = -1;
  int timerFd_ = -1;
  Counters counters_;
  std::vector<int64_t> latenciesNs_;
};

[[noreturn]] void usage(const char* message) {
  if (message != nullptr) {
    std::fprintf(stderr, "rate_load: %s\n", message);
  }
  std::fprintf(stderr,
               "usage: rate_load --rate REQ_PER_S --duration SECONDS [--connections N] "
               "[--timeout SECONDS] http://127.0.0.1:PORT/PATH\n"
               "  open-loop HTTP/1.1 GET load to a loopback address; prints key=value results\n");
  std::exit(2); // NOLINT(concurrency-mt-unsafe): single-threaded tool
}

double parseNumber(const char* text, const char* what) {
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  if (end == text || *end != '\0' || !std::isfinite(value)) {
    usage(what);
  }
  return value;
}

// Accepts http://HOST:PORT/PATH where HOST is "localhost" or an IPv4 address in 127.0.0.0/8.
void parseUrl(const std::string& url, Options& options) {
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0) {
    usage("the URL must start with http://");
  }
  const size_t authorityEnd = url.find('/', scheme.size());
  const std::string authority = url.substr(scheme.size(), authorityEnd - scheme.size());
  options.path = authorityEnd == std::string::npos ? "/" : url.substr(authorityEnd);
  const size_t colon = authority.rfind(':');
  if (colon == std::string::npos) {
    usage("the URL needs an explicit port");
  }
  std::string host = authority.substr(0, colon);
  int port = 0;
  const std::string portText = authority.substr(colon + 1);
  const auto [ptr, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (ec != std::errc{} || ptr != portText.data() + portText.size() || port < 1 || port > 65535) {
    usage("bad port in the URL");
  }
  options.hostHeader = authority;
  if (host == "localhost") {
    host = "127.0.0.1";
  }
  options.address.sin_family = AF_INET;
  options.address.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &options.address.sin_addr) != 1) {
    usage("the host must be an IPv4 address or localhost");
  }
  if ((ntohl(options.address.sin_addr.s_addr) >> 24) != 127) {
    usage("only loopback addresses (127.0.0.0/8) are allowed");
  }
}

Options parseOptions(int argc, char** argv) {
  Options options;
  const option longOptions[] = {{"rate", required_argument, nullptr, 'r'},
                                {"duration", required_argument, nullptr, 'd'},
                                {"connections", required_argument, nullptr, 'c'},
                                {"timeout", required_argument, nullptr, 't'},
                                {"help", no_argument, nullptr, 'h'},
                                {nullptr, 0, nullptr, 0}};
  int opt = 0;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): single-threaded tool
  while ((opt = getopt_long(argc, argv, "r:d:c:t:h", longOptions, nullptr)) != -1) {
    switch (opt) {
    case 'r': options.rate = parseNumber(optarg, "bad --rate"); break;
    case 'd': options.durationSeconds = parseNumber(optarg, "bad --duration"); break;
    case 'c':
      options.connections = static_cast<int>(parseNumber(optarg, "bad --connections"));
      break;
    case 't': options.timeoutSeconds = parseNumber(optarg, "bad --timeout"); break;
    case 'h': usage(nullptr);
    default: usage("unknown option");
    }
  }
  if (optind != argc - 1) {
    usage("exactly one URL is needed");
  }
  parseUrl(argv[optind], options);
  if (options.rate <= 0 || options.durationSeconds <= 0 || options.durationSeconds > 3600) {
    usage("--rate must be > 0 and --duration in (0, 3600]");
  }
  if (options.rate * options.durationSeconds > static_cast<double>(kMaxRequests)) {
    usage("rate * duration exceeds 10 million requests");
  }
  if (options.connections < 1 || options.connections > kMaxConnections) {
    usage("--connections must be in [1, 4096]");
  }
  if (options.timeoutSeconds < 0 || options.timeoutSeconds > 60) {
    usage("--timeout must be in [0, 60]");
  }
  return options;
}

} // namespace

int main(int argc, char** argv) {
  const Options options = parseOptions(argc, argv);
  LoadRun run(options);
  if (!run.run()) {
    return 1;
  }
  run.report();
  return 0;
}
