// HttpPool: one worker's idle HTTP/1.1 connections, per cluster and endpoint. A request takes an
// idle connection when there is one (keep-alive reuse) or opens a new one; a connection that
// finished its exchange cleanly comes back. Idle connections closed by the server are dropped.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "core/event_loop.h"
#include "proxy/upstream/http_client.h"

namespace meshd::proxy::upstream {

class HttpPool {
public:
  explicit HttpPool(core::EventLoop& loop) : loop_(loop) {}
  ~HttpPool();

  // Calls `ready(client)` with a connected client, or with nullptr when connecting failed.
  // May call back before returning (an idle connection was available).
  void acquire(const std::shared_ptr<const Cluster>& cluster, const config::Endpoint& endpoint,
               std::function<void(std::shared_ptr<HttpClient>)> ready);
  // Returns a client after its exchange; kept only if reusable.
  void release(std::shared_ptr<HttpClient> client);

  size_t idleCount() const;
  // Closes every idle connection (shutdown).
  void closeAll();

private:
  using Key = std::pair<const Cluster*, config::Endpoint>;
  static constexpr size_t kMaxIdlePerEndpoint = 128;

  core::EventLoop& loop_;
  std::map<Key, std::vector<std::shared_ptr<HttpClient>>> idle_;
};

} // namespace meshd::proxy::upstream
