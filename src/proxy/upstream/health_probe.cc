// The network health probes (health_probe.h): one connection per check, closed after it.
#include "proxy/upstream/health_probe.h"

#include <array>
#include <charconv>
#include <optional>
#include <utility>

#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/write.hpp"
#include "fmt/format.h"

namespace meshd::proxy::upstream {
namespace {

using Result = HealthProbe::Result;
constexpr size_t kMaxAnswerBytes = 64 * 1024; // more without a verdict: the answer is bad

bool inRanges(int64_t status, const std::vector<std::pair<int64_t, int64_t>>& ranges) {
  for (const auto& [start, end] : ranges) {
    if (status >= start && status < end) {
      return true;
    }
  }
  return false;
}

// Connects, writes `request` (if any), then reads until `judge` returns a verdict or the peer
// closes (then `judge` is asked once more with eof set).
class SocketProbe final : public HealthProbe, public std::enable_shared_from_this<SocketProbe> {
public:
  // Looks at what has arrived; nullopt: read more.
  using Judge = std::function<std::optional<Result>(const std::string& received, bool eof)>;

  SocketProbe(boost::asio::io_context& context, Done done, std::string request, Judge judge)
      : socket_(context), done_(std::move(done)), request_(std::move(request)),
        judge_(std::move(judge)) {}

  void start(const config::Endpoint& host) {
    socket_.async_connect(host,
                          [self = shared_from_this()](const boost::system::error_code& error) {
                            if (error) {
                              self->finish(Result::kNetworkFailure);
                              return;
                            }
                            self->write();
                          });
  }

  void cancel() override {
    done_ = nullptr;
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

private:
  void write() {
    if (request_.empty()) {
      read();
      return;
    }
    boost::asio::async_write(
        socket_, boost::asio::buffer(request_),
        [self = shared_from_this()](const boost::system::error_code& error, size_t) {
          if (error) {
            self->finish(Result::kNetworkFailure);
            return;
          }
          self->read();
        });
  }

  void read() {
    if (auto verdict = judge_(received_, false)) {
      finish(*verdict);
      return;
    }
    socket_.async_read_some(
        boost::asio::buffer(chunk_),
        [self = shared_from_this()](const boost::system::error_code& error, size_t n) {
          if (!self->done_) {
            return;
          }
          if (error) {
            const auto verdict = self->judge_(self->received_, true);
            self->finish(verdict.value_or(Result::kNetworkFailure));
            return;
          }
          self->received_.append(self->chunk_.data(), n);
          if (self->received_.size() > kMaxAnswerBytes) {
            self->finish(Result::kNetworkFailure);
            return;
          }
          self->read();
        });
  }

  void finish(Result result) {
    boost::system::error_code ignored;
    socket_.close(ignored);
    if (auto done = std::exchange(done_, nullptr)) {
      done(result);
    }
  }

  boost::asio::ip::tcp::socket socket_;
  Done done_;
  std::string request_;
  Judge judge_;
  std::string received_;
  std::array<char, 4096> chunk_{};
};

// The status of the HTTP/1.x status line at `at` in `received`; nullopt until the line is
// complete; 0 when it is not one.
std::optional<int> statusAt(const std::string& received, size_t at) {
  const size_t end = received.find("\r\n", at);
  if (end == std::string::npos) {
    return std::nullopt;
  }
  // "HTTP/1.1 200 OK" (the reason phrase may be empty)
  const char* line = received.data() + at;
  const size_t length = end - at;
  if (length < 12 || received.compare(at, 7, "HTTP/1.") != 0 || line[8] != ' ' ||
      (length > 12 && line[12] != ' ')) {
    return 0;
  }
  int status = 0;
  const auto parsed = std::from_chars(line + 9, line + 12, status);
  if (parsed.ec != std::errc() || parsed.ptr != line + 12) {
    return 0;
  }
  return status;
}

// The status of the final response in `received`, after any interim (1xx) ones.
std::optional<int> finalStatusOf(const std::string& received) {
  size_t at = 0;
  while (true) {
    const auto status = statusAt(received, at);
    if (!status || *status == 0 || *status >= 200 || *status == 101) {
      return status;
    }
    const size_t headEnd = received.find("\r\n\r\n", at);
    if (headEnd == std::string::npos) {
      return std::nullopt;
    }
    at = headEnd + 4;
  }
}

// Whether every block of `receive` occurs in `received`, in order (not necessarily adjacent).
bool containsInOrder(const std::string& received, const std::vector<std::string>& receive) {
  size_t from = 0;
  for (const auto& block : receive) {
    const size_t found = received.find(block, from);
    if (found == std::string::npos) {
      return false;
    }
    from = found + block.size();
  }
  return true;
}

} // namespace

HealthProbeStarter networkHealthProbes(boost::asio::io_context& context, std::string cluster,
                                       config::HealthCheckConfig config) {
  if (config.http) {
    const config::HealthCheckConfig::Http http = *config.http;
    std::string request = fmt::format("GET {} HTTP/1.1\r\nhost: {}\r\nuser-agent: Envoy/HC\r\n",
                                      http.path, http.host.empty() ? cluster : http.host);
    for (const auto& [name, value] : http.requestHeadersToAdd) {
      request += fmt::format("{}: {}\r\n", name, value);
    }
    request += "connection: close\r\n\r\n";
    return [&context, request, http](const config::Endpoint& host, HealthProbe::Done done) {
      auto judge = [http](const std::string& received, bool eof) -> std::optional<Result> {
        const auto status = finalStatusOf(received);
        if (!status) {
          return eof ? std::optional(Result::kNetworkFailure) : std::nullopt;
        }
        if (*status == 0) {
          return Result::kNetworkFailure; // not HTTP: a protocol error
        }
        if (inRanges(*status, http.expectedStatuses)) {
          return Result::kHealthy;
        }
        return inRanges(*status, http.retriableStatuses) ? Result::kRetriableFailure
                                                         : Result::kUnhealthy;
      };
      auto probe = std::make_shared<SocketProbe>(context, std::move(done), request, judge);
      probe->start(host);
      return probe;
    };
  }
  const config::HealthCheckConfig::Tcp tcp = config.tcp.value_or(config::HealthCheckConfig::Tcp{});
  return [&context, tcp](const config::Endpoint& host, HealthProbe::Done done) {
    auto judge = [receive = tcp.receive](const std::string& received,
                                         bool eof) -> std::optional<Result> {
      if (containsInOrder(received, receive)) {
        return Result::kHealthy;
      }
      return eof ? std::optional(Result::kNetworkFailure) : std::nullopt;
    };
    auto probe = std::make_shared<SocketProbe>(context, std::move(done), tcp.send, judge);
    probe->start(host);
    return probe;
  };
}

} // namespace meshd::proxy::upstream
