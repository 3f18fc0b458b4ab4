// HttpPool (http_pool.h).
#include "proxy/upstream/http_pool.h"

#include <algorithm>

namespace meshd::proxy::upstream {

HttpPool::HttpPool(core::EventLoop& loop, const core::TimeSource& time)
    : loop_(loop), time_(time), expiryTimer_(loop.createTimer([this] { closeExpired(); })),
      http2_(loop) {}

HttpPool::~HttpPool() {
  *alive_ = false;
  closeAll();
}

void HttpPool::closeAll() {
  for (auto& [name, endpoints] : idle_) {
    for (auto& [endpoint, clients] : endpoints) {
      for (auto& idle : clients) {
        idle.client->setIdleHook({});
        idle.client->close();
      }
    }
  }
  idle_.clear();
  http2_.closeAll();
  // The timer belongs to the loop, which may go away before the pool: the pool is closed for good.
  expiryTimer_.reset();
}

uint64_t HttpPool::acquire(const std::shared_ptr<const Cluster>& cluster,
                           const config::Endpoint& endpoint, Ready ready, Protocol protocol) {
  if (protocol == Protocol::kHttp2) {
    return http2_.acquire(cluster, endpoint, std::move(ready), nextWaiterId_++);
  }
  const auto byCluster = idle_.find(cluster->name());
  const auto it = byCluster == idle_.end() ? decltype(byCluster->second.end()){}
                                           : byCluster->second.find(endpoint);
  if (byCluster != idle_.end() && it != byCluster->second.end()) {
    auto& clients = it->second;
    while (!clients.empty()) {
      std::shared_ptr<HttpClient> client = std::move(clients.back().client);
      clients.pop_back();
      client->setIdleHook({});
      if (client->reusable()) {
        ready(std::move(client), Failure::kNone);
        return 0;
      }
    }
  }
  ResourceManager& resources = cluster->resources();
  const Key key{cluster->name(), endpoint};
  if (!poolSlots_.contains(key)) {
    // A new pool. As in Envoy, a pool of another endpoint is not reclaimed for it: Envoy frees
    // only an idle pool of the same host (another protocol or priority), and an endpoint has
    // exactly one pool per worker here.
    ResourceManager::Slot pool = resources.tryAcquire(ResourceManager::Kind::kConnectionPools);
    if (!pool) {
      cluster->stats().cxPoolOverflow.inc();
      ready(nullptr, Failure::kPoolOverflow);
      return 0;
    }
    poolSlots_.emplace(key, std::move(pool));
  }
  ResourceManager::Slot slot = resources.tryAcquire(ResourceManager::Kind::kConnections);
  if (!slot) {
    cluster->stats().cxOverflow.inc();
    if (open_[key] == 0) {
      slot = resources.acquireOverLimit(ResourceManager::Kind::kConnections);
    } else {
      ResourceManager::Slot pending = resources.tryAcquire(ResourceManager::Kind::kPending);
      if (!pending) {
        cluster->stats().rqPendingOverflow.inc();
        ready(nullptr, Failure::kOverflow);
        return 0;
      }
      cluster->stats().rqPendingTotal.inc();
      cluster->stats().rqPendingActive.inc();
      const uint64_t id = nextWaiterId_++;
      waiters_[key].push_back(Waiter{id, cluster, std::move(ready), std::move(pending)});
      return id;
    }
  }
  open(cluster, endpoint, std::move(slot), std::move(ready));
  return 0;
}

void HttpPool::open(const std::shared_ptr<const Cluster>& cluster, const config::Endpoint& endpoint,
                    ResourceManager::Slot slot, Ready ready) {
  const Key key{cluster->name(), endpoint};
  ++open_[key];
  auto client = std::make_shared<HttpClient>(loop_, cluster, endpoint);
  client->holdConnectionSlot(std::move(slot), [this, alive = std::weak_ptr<bool>(alive_), key] {
    if (const auto pool = alive.lock(); pool && *pool) {
      connectionClosed(key);
    }
  });
  client->connect([client, ready = std::move(ready)](bool ok) {
    ready(ok ? client : nullptr, ok ? Failure::kNone : Failure::kConnect);
  });
}

void HttpPool::cancel(uint64_t pending_id) {
  if (http2_.cancel(pending_id)) {
    return;
  }
  for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
    auto& queue = it->second;
    const auto found = std::find_if(queue.begin(), queue.end(),
                                    [&](const Waiter& w) { return w.id == pending_id; });
    if (found != queue.end()) {
      found->cluster->stats().rqPendingActive.dec();
      queue.erase(found);
      if (queue.empty()) {
        const Key key = it->first;
        waiters_.erase(it);
        releasePoolIfUnused(key);
      }
      return;
    }
  }
}

void HttpPool::releasePoolIfUnused(const Key& key) {
  const auto open = open_.find(key);
  if ((open == open_.end() || open->second == 0) && !waiters_.contains(key)) {
    poolSlots_.erase(key);
  }
}

void HttpPool::connectionClosed(const Key& key) {
  if (const auto count = open_.find(key); count != open_.end() && --count->second == 0) {
    open_.erase(count);
  }
  const auto queue = waiters_.find(key);
  if (queue == waiters_.end()) {
    releasePoolIfUnused(key);
    return;
  }
  // Room for one more connection (or none left for this endpoint): the oldest waiter opens it.
  Waiter& first = queue->second.front();
  ResourceManager::Slot slot =
      first.cluster->resources().tryAcquire(ResourceManager::Kind::kConnections);
  if (!slot && !open_.contains(key)) {
    slot = first.cluster->resources().acquireOverLimit(ResourceManager::Kind::kConnections);
  }
  if (!slot) {
    return;
  }
  Waiter waiter = std::move(first);
  queue->second.pop_front();
  if (queue->second.empty()) {
    waiters_.erase(queue);
  }
  waiter.cluster->stats().rqPendingActive.dec();
  open(waiter.cluster, key.second, std::move(slot), std::move(waiter.ready));
}

bool HttpPool::giveToWaiter(std::shared_ptr<HttpClient>& client) {
  const auto queue = waiters_.find(Key{client->cluster().name(), client->endpoint()});
  if (queue == waiters_.end()) {
    return false;
  }
  Waiter waiter = std::move(queue->second.front());
  queue->second.pop_front();
  if (queue->second.empty()) {
    waiters_.erase(queue);
  }
  waiter.cluster->stats().rqPendingActive.dec();
  // Not from inside the releasing request's callbacks: the waiter starts on its own turn.
  loop_.post([client = std::move(client), ready = std::move(waiter.ready)] {
    if (client->reusable()) {
      ready(client, Failure::kNone);
    } else {
      ready(nullptr, Failure::kConnect);
    }
  });
  return true;
}

void HttpPool::forget(IdleClient& idle) {
  // Called from the client's own callbacks or while walking the pool: close now, release the
  // last reference later.
  idle.client->setIdleHook({});
  idle.client->close();
  loop_.post([doomed = std::move(idle.client)] {});
}

void HttpPool::release(std::shared_ptr<HttpExchange> exchange) {
  std::shared_ptr<HttpClient> client = std::dynamic_pointer_cast<HttpClient>(exchange);
  if (!client) {
    // An HTTP/2 stream: it ends (on the loop's next turn: its callbacks may be running).
    loop_.post([doomed = std::move(exchange)] {});
    return;
  }
  const auto retired = retired_.find(client->cluster().name());
  const bool keep = client->reusable() &&
                    (retired == retired_.end() || client->cluster().id() >= retired->second);
  if (keep && giveToWaiter(client)) {
    return;
  }
  IdleClient idle{std::move(client), core::MonotonicTime::max()};
  if (!keep) {
    forget(idle); // not reusable, or its cluster was removed
    return;
  }
  IdleList& clients = idle_[idle.client->cluster().name()][idle.client->endpoint()];
  // Idle connections are bounded by the cluster's max_connections (more cannot be open anyway,
  // but for the one a pool may open over it): a lower cap made busy endpoints churn connections.
  if (clients.size() >= idle.client->cluster().config().circuitBreakers.maxConnections) {
    forget(idle);
    return;
  }
  const auto timeout = idle.client->cluster().config().idleTimeout;
  if (timeout.count() > 0) {
    idle.expiresAt = time_.monotonicNow() + timeout;
    armExpiry(idle.expiresAt);
  }
  std::weak_ptr<HttpClient> weak = idle.client;
  idle.client->setIdleHook([this, weak] {
    // The server closed an idle connection: forget it.
    if (auto closed = weak.lock()) {
      const auto byCluster = idle_.find(closed->cluster().name());
      if (byCluster != idle_.end()) {
        const auto found = byCluster->second.find(closed->endpoint());
        if (found != byCluster->second.end()) {
          std::erase_if(found->second, [&](const IdleClient& i) { return i.client == closed; });
        }
      }
      loop_.post([doomed = std::move(closed)] {});
    }
  });
  clients.push_back(std::move(idle));
}

void HttpPool::armExpiry(core::MonotonicTime at) {
  if (!expiryTimer_) {
    return; // closed
  }
  if (expiryTimer_->enabled() && armedFor_ <= at) {
    return; // the pending sweep comes first and re-arms for what is left
  }
  armedFor_ = at;
  expiryTimer_->enable(std::max(core::MonotonicTime::duration::zero(), at - time_.monotonicNow()));
}

void HttpPool::closeExpired() {
  const core::MonotonicTime now = time_.monotonicNow();
  core::MonotonicTime next = core::MonotonicTime::max();
  for (auto byCluster = idle_.begin(); byCluster != idle_.end();) {
    auto& endpoints = byCluster->second;
    for (auto it = endpoints.begin(); it != endpoints.end();) {
      IdleList kept;
      for (IdleClient& idle : it->second) {
        if (idle.expiresAt <= now) {
          forget(idle);
        } else {
          next = std::min(next, idle.expiresAt);
          kept.push_back(std::move(idle));
        }
      }
      it->second = std::move(kept);
      it = it->second.empty() ? endpoints.erase(it) : std::next(it);
    }
    byCluster = endpoints.empty() ? idle_.erase(byCluster) : std::next(byCluster);
  }
  if (next != core::MonotonicTime::max()) {
    armExpiry(next);
  }
}

void HttpPool::closeCluster(const std::string& cluster, uint64_t watermark) {
  retired_[cluster] = watermark;
  http2_.closeCluster(cluster);
  const auto found = idle_.find(cluster);
  if (found == idle_.end()) {
    return;
  }
  for (auto& [endpoint, clients] : found->second) {
    for (auto& idle : clients) {
      forget(idle);
    }
  }
  idle_.erase(found);
}

size_t HttpPool::idleCount() const {
  size_t count = 0;
  for (const auto& [name, endpoints] : idle_) {
    for (const auto& [endpoint, clients] : endpoints) {
      count += clients.size();
    }
  }
  return count;
}

} // namespace meshd::proxy::upstream
