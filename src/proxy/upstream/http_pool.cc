// HttpPool (http_pool.h).
#include "proxy/upstream/http_pool.h"

#include <algorithm>

namespace meshd::proxy::upstream {

HttpPool::~HttpPool() {
  closeAll();
}

void HttpPool::closeAll() {
  for (auto& [key, clients] : idle_) {
    for (auto& client : clients) {
      client->setIdleHook({});
      client->close();
    }
  }
  idle_.clear();
}

void HttpPool::acquire(const std::shared_ptr<const Cluster>& cluster,
                       const config::Endpoint& endpoint,
                       std::function<void(std::shared_ptr<HttpClient>)> ready) {
  auto it = idle_.find(Key{cluster.get(), endpoint});
  if (it != idle_.end()) {
    auto& clients = it->second;
    while (!clients.empty()) {
      std::shared_ptr<HttpClient> client = std::move(clients.back());
      clients.pop_back();
      client->setIdleHook({});
      if (client->reusable()) {
        ready(std::move(client));
        return;
      }
    }
  }
  auto client = std::make_shared<HttpClient>(loop_, cluster, endpoint);
  client->connect([client, ready = std::move(ready)](bool ok) { ready(ok ? client : nullptr); });
}

void HttpPool::release(std::shared_ptr<HttpClient> client) {
  auto& clients = idle_[Key{&client->cluster(), client->endpoint()}];
  if (!client->reusable() || clients.size() >= kMaxIdlePerEndpoint) {
    // Called from the client's own callbacks: close now, release the last reference later.
    client->close();
    loop_.post([doomed = std::move(client)] {});
    return;
  }
  std::weak_ptr<HttpClient> weak = client;
  client->setIdleHook([this, weak] {
    // The server closed an idle connection: forget it.
    // The hook runs inside the client's own callback, so its last reference is released later.
    if (auto closed = weak.lock()) {
      auto found = idle_.find(Key{&closed->cluster(), closed->endpoint()});
      if (found != idle_.end()) {
        std::erase(found->second, closed);
      }
      loop_.post([doomed = std::move(closed)] {});
    }
  });
  clients.push_back(std::move(client));
}

size_t HttpPool::idleCount() const {
  size_t count = 0;
  for (const auto& [key, clients] : idle_) {
    count += clients.size();
  }
  return count;
}

} // namespace meshd::proxy::upstream
