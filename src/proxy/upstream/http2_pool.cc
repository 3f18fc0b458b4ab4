// Http2Pool (http2_pool.h).
#include "proxy/upstream/http2_pool.h"

#include <algorithm>

#include "proxy/upstream/http2_stream.h"

namespace meshd::proxy::upstream {
namespace {

// Streams a connection may carry before the server's SETTINGS say (nghttp2 assumes 100).
constexpr uint32_t kAssumedStreamLimit = 100;

} // namespace

Http2Pool::Http2Pool(core::EventLoop& loop) : loop_(loop) {}

Http2Pool::~Http2Pool() {
  *alive_ = false;
  closeAll();
}

void Http2Pool::closeAll() {
  auto pools = std::move(pools_);
  pools_.clear();
  for (auto& [key, pool] : pools) {
    for (auto& connection : pool.connections) {
      connection->setChangeHook({});
      connection->close(false); // shutdown: the requests' owners may be gone already
    }
    for (auto& waiter : pool.waiters) {
      dropWaiter(waiter);
    }
  }
}

void Http2Pool::closeCluster(const std::string& cluster) {
  for (auto& [key, pool] : pools_) {
    if (key.first == cluster) {
      for (auto& connection : pool.connections) {
        connection->drain();
      }
    }
  }
}

size_t Http2Pool::connectionCount() const {
  size_t count = 0;
  for (const auto& [key, pool] : pools_) {
    count += pool.connections.size();
  }
  return count;
}

std::shared_ptr<Http2Connection> Http2Pool::withRoom(const EndpointPool& pool) {
  for (const auto& connection : pool.connections) {
    if (connection->canTakeStream()) {
      return connection;
    }
  }
  return nullptr;
}

bool Http2Pool::connectingRoom(const EndpointPool& pool) {
  size_t room = 0;
  for (const auto& connection : pool.connections) {
    if (connection->awaitingSettings()) {
      const size_t expected =
          std::min(kAssumedStreamLimit, connection->cluster().config().http2.maxConcurrentStreams);
      room += expected - std::min(expected, connection->streams());
    }
  }
  return room > pool.waiters.size();
}

uint64_t Http2Pool::acquire(const std::shared_ptr<const Cluster>& cluster,
                            const config::Endpoint& endpoint, Ready ready, uint64_t waiter_id) {
  const Key key{cluster->name(), endpoint};
  EndpointPool& pool = pools_[key];
  ResourceManager& resources = cluster->resources();
  if (!pool.poolSlot) {
    pool.poolSlot = resources.tryAcquire(ResourceManager::Kind::kConnectionPools);
    if (!pool.poolSlot) {
      cluster->stats().cxPoolOverflow.inc();
      releaseIfUnused(key);
      ready(nullptr, AcquireFailure::kPoolOverflow);
      return 0;
    }
  }
  if (auto connection = withRoom(pool)) {
    ready(std::make_shared<Http2Stream>(std::move(connection)), AcquireFailure::kNone);
    return 0;
  }
  if (!connectingRoom(pool)) {
    ResourceManager::Slot slot = resources.tryAcquire(ResourceManager::Kind::kConnections);
    if (!slot) {
      cluster->stats().cxOverflow.inc();
      if (pool.connections.empty()) {
        slot = resources.acquireOverLimit(ResourceManager::Kind::kConnections);
      }
    }
    if (slot) {
      pool.waiters.push_back(Waiter{waiter_id, cluster, std::move(ready), {}});
      open(key, cluster, std::move(slot));
      return waiter_id;
    }
  }
  ResourceManager::Slot pending = resources.tryAcquire(ResourceManager::Kind::kPending);
  if (!pending) {
    cluster->stats().rqPendingOverflow.inc();
    releaseIfUnused(key);
    ready(nullptr, AcquireFailure::kOverflow);
    return 0;
  }
  cluster->stats().rqPendingTotal.inc();
  cluster->stats().rqPendingActive.inc();
  pool.waiters.push_back(Waiter{waiter_id, cluster, std::move(ready), std::move(pending)});
  return waiter_id;
}

void Http2Pool::open(const Key& key, const std::shared_ptr<const Cluster>& cluster,
                     ResourceManager::Slot slot) {
  auto connection = std::make_shared<Http2Connection>(loop_, cluster, key.second);
  const std::weak_ptr<bool> alive = alive_;
  connection->holdConnectionSlot(std::move(slot), [this, alive, key] {
    // A max_connections unit came back: a waiter of this endpoint may open a connection now.
    if (const auto pool = alive.lock(); pool && *pool) {
      loop_.post([this, alive, key] {
        if (const auto still = alive.lock(); still && *still) {
          serve(key);
        }
      });
    }
  });
  connection->setChangeHook([this, alive, key] {
    if (const auto pool = alive.lock(); pool && *pool) {
      serve(key);
    }
  });
  pools_[key].connections.push_back(connection);
  connection->connect([this, alive, key](bool ok) {
    if (const auto pool = alive.lock(); pool && *pool && !ok) {
      connectFailed(key);
    }
  });
}

void Http2Pool::connectFailed(const Key& key) {
  const auto found = pools_.find(key);
  if (found == pools_.end()) {
    return;
  }
  EndpointPool& pool = found->second;
  std::erase_if(pool.connections, [](const std::shared_ptr<Http2Connection>& connection) {
    return connection->closed();
  });
  if (!pool.connections.empty()) {
    return; // another connection may still serve them
  }
  // The endpoint is unreachable: its waiters fail (a retry policy may try another host) rather
  // than reconnect forever.
  auto waiters = std::move(pool.waiters);
  pool.waiters.clear();
  releaseIfUnused(key);
  for (auto& waiter : waiters) {
    dropWaiter(waiter);
    loop_.post([ready = std::move(waiter.ready)] { ready(nullptr, AcquireFailure::kConnect); });
  }
}

void Http2Pool::dropWaiter(Waiter& waiter) {
  if (waiter.pendingSlot) {
    waiter.cluster->stats().rqPendingActive.dec();
    waiter.pendingSlot.reset();
  }
}

void Http2Pool::serve(const Key& key) {
  const auto found = pools_.find(key);
  if (found == pools_.end()) {
    return;
  }
  EndpointPool& pool = found->second;
  std::erase_if(pool.connections, [&](const std::shared_ptr<Http2Connection>& connection) {
    if (connection->closed()) {
      connection->setChangeHook({});
      return true;
    }
    return false;
  });
  while (!pool.waiters.empty()) {
    auto connection = withRoom(pool);
    if (!connection) {
      break;
    }
    Waiter waiter = std::move(pool.waiters.front());
    pool.waiters.pop_front();
    dropWaiter(waiter);
    auto stream = std::make_shared<Http2Stream>(std::move(connection)); // holds the room
    // On the waiter's own turn: serve() runs inside a connection's or the loop's callbacks.
    loop_.post([ready = std::move(waiter.ready), stream = std::move(stream)]() mutable {
      ready(std::move(stream), AcquireFailure::kNone);
    });
  }
  if (!pool.waiters.empty() && !connectingRoom(pool)) {
    const std::shared_ptr<const Cluster> cluster = pool.waiters.front().cluster;
    ResourceManager& resources = cluster->resources();
    ResourceManager::Slot slot = resources.tryAcquire(ResourceManager::Kind::kConnections);
    if (!slot && pool.connections.empty()) {
      slot = resources.acquireOverLimit(ResourceManager::Kind::kConnections);
    }
    if (slot) {
      open(key, cluster, std::move(slot));
    }
  }
  releaseIfUnused(key);
}

bool Http2Pool::cancel(uint64_t waiter_id) {
  for (auto& [key, pool] : pools_) {
    const auto found = std::find_if(pool.waiters.begin(), pool.waiters.end(),
                                    [&](const Waiter& w) { return w.id == waiter_id; });
    if (found != pool.waiters.end()) {
      dropWaiter(*found);
      pool.waiters.erase(found);
      const Key copy = key;
      releaseIfUnused(copy);
      return true;
    }
  }
  return false;
}

void Http2Pool::releaseIfUnused(const Key& key) {
  const auto found = pools_.find(key);
  if (found != pools_.end() && found->second.connections.empty() && found->second.waiters.empty()) {
    pools_.erase(found);
  }
}

} // namespace meshd::proxy::upstream
