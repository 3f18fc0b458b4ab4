// HttpPool: one worker's idle HTTP/1.1 connections, per cluster name and endpoint. A request takes
// an idle connection when there is one (keep-alive reuse, most recently used first) or opens a new
// one; a connection that finished its exchange cleanly comes back. Idle connections closed by the
// server are dropped, and ones idle longer than their cluster's idle_timeout are closed.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/event_loop.h"
#include "core/time_source.h"
#include "proxy/upstream/http_client.h"

namespace meshd::proxy::upstream {

class HttpPool {
public:
  explicit HttpPool(core::EventLoop& loop,
                    const core::TimeSource& time = core::RealTimeSource::instance());
  ~HttpPool();

  // Calls `ready(client)` with a connected client, or with nullptr when connecting failed.
  // May call back before returning (an idle connection was available).
  void acquire(const std::shared_ptr<const Cluster>& cluster, const config::Endpoint& endpoint,
               std::function<void(std::shared_ptr<HttpClient>)> ready);
  // Returns a client after its exchange; kept only if reusable.
  void release(std::shared_ptr<HttpClient> client);

  size_t idleCount() const;
  // Closes the idle connections of a cluster that went away; busy ones close when their exchange
  // ends: clients of the cluster's objects older than `watermark` (Cluster::idWatermark() when
  // it was removed) are not taken back. A cluster of that name added later is pooled as usual.
  void closeCluster(const std::string& cluster, uint64_t watermark);
  // Closes every idle connection (shutdown, while the loop still exists); idle expiry stops.
  void closeAll();

private:
  struct IdleClient {
    std::shared_ptr<HttpClient> client;
    core::MonotonicTime expiresAt; // MonotonicTime::max(): never
  };
  static constexpr size_t kMaxIdlePerEndpoint = 128;

  void forget(IdleClient& idle);
  void armExpiry(core::MonotonicTime at);
  void closeExpired();

  core::EventLoop& loop_;
  const core::TimeSource& time_;
  std::unique_ptr<core::Timer> expiryTimer_;
  core::MonotonicTime armedFor_;
  using IdleList = std::vector<IdleClient>; // oldest first: taken from and returned to the back
  // By cluster name (so a cluster rebuilt with new hosts keeps its connections), then endpoint.
  std::map<std::string, std::map<config::Endpoint, IdleList>, std::less<>> idle_;
  std::map<std::string, uint64_t> retired_; // removed cluster -> its id watermark
};

} // namespace meshd::proxy::upstream
