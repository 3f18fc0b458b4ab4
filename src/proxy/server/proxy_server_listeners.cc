// ProxyServer's listener sockets (proxy_server.h): binding, handing them to the workers, and the
// LDS updates that add, change (warming until their routes arrive) and remove listeners, closing
// a drained listener's remaining connections when the drain time is over.
#include <unistd.h>

#include <algorithm>

#include "boost/asio/steady_timer.hpp"
#include "core/logging.h"
#include "core/status.h"
#include "fmt/format.h"
#include "proxy/server/proxy_server.h"
#include "proxy/server/worker_state.h"

namespace meshd::proxy::server {
namespace {

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("main");
  return instance;
}

// Whether every route configuration the listener's connection managers take from RDS is there.
bool routesArrived(const config::ListenerConfig& listener, const config::ProxyConfig& config) {
  auto arrived = [&](const config::FilterChainConfig& chain) {
    return !chain.http || chain.http->rdsName.empty() ||
           config.routeTables.contains(chain.http->rdsName);
  };
  return std::all_of(listener.filterChains.begin(), listener.filterChains.end(), arrived) &&
         (!listener.defaultFilterChain || arrived(*listener.defaultFilterChain));
}

} // namespace

absl::Status ProxyServer::updateDynamicListeners(std::vector<config::ListenerConfig> listeners) {
  const std::shared_ptr<const Runtime> current = runtime_.latest();
  // As Envoy, a listener whose routes have not arrived warms: a changed one keeps serving its
  // previous version, a new one is bound (so an address in use is still refused now) but does
  // not accept yet. Both are applied when the routes come (applyWarmedListeners). Once live:
  // during start-up the listeners wait for every route anyway.
  std::vector<config::ListenerConfig> requested = listeners;
  std::set<std::string> warming;
  std::set<std::string> warmingNew;
  for (auto& listener : listeners) {
    if (state_ != ServerState::kLive || routesArrived(listener, current->config)) {
      continue;
    }
    warming.insert(listener.name);
    const config::ListenerConfig* old =
        dynamicListeners_.contains(listener.name) ? current->listener(listener.name) : nullptr;
    if (old != nullptr && old->address == listener.address) {
      listener = *old;
    } else {
      warmingNew.insert(listener.name);
    }
  }
  std::set<std::string> next;
  std::vector<std::string> added;
  std::vector<std::string> removed;
  for (const auto& listener : listeners) {
    next.insert(listener.name);
    const config::ListenerConfig* old =
        dynamicListeners_.contains(listener.name) ? current->listener(listener.name) : nullptr;
    if (old != nullptr && old->address != listener.address) {
      removed.push_back(listener.name); // moved: a new socket replaces the old one
      old = nullptr;
    }
    if (old == nullptr) {
      added.push_back(listener.name);
    }
  }
  for (const auto& name : dynamicListeners_) {
    if (!next.contains(name)) {
      removed.push_back(name);
    }
  }
  // New sockets first: one that cannot be bound rejects the whole update, nothing changed.
  std::vector<std::string> bound;
  for (const auto& name : added) {
    const auto& listener = *std::find_if(listeners.begin(), listeners.end(),
                                         [&](const auto& l) { return l.name == name; });
    if (absl::Status status = bindListener(listener); !status.ok()) {
      for (const auto& done : bound) {
        forgetBound(done, /*started=*/false);
      }
      return status;
    }
    bound.push_back(name);
  }
  for (const auto& name : removed) {
    stopAccepting(name); // posted before the new acceptor of a moved listener
  }
  publishConfig([&](config::ProxyConfig& config) {
    std::erase_if(config.listeners, [&](const config::ListenerConfig& listener) {
      return dynamicListeners_.contains(listener.name);
    });
    for (auto& listener : listeners) {
      config.listeners.push_back(std::move(listener));
    }
  });
  dynamicListeners_ = std::move(next);
  // Connections accepted under a changed or removed listener drain meanwhile; the drain time
  // bounds how long they may stay.
  std::set<std::string> draining(removed.begin(), removed.end());
  for (const auto& listener : runtime_.latest()->config.listeners) {
    const config::ListenerConfig* old = current->listener(listener.name);
    if (old != nullptr && old->version != listener.version) {
      draining.insert(listener.name);
    }
  }
  if (!draining.empty()) {
    closeDrainedConnectionsLater(std::move(draining), runtime_.latest()->generation);
  }
  // After the publish: each worker has the new runtime before its acceptor's first accept. Before
  // the server is live (warming), becomeLive() starts them with the static ones.
  if (state_ == ServerState::kLive) {
    for (auto& listener : boundListeners_) {
      if (!warmingNew.contains(listener.name)) {
        startAccepting(listener);
      }
    }
  }
  requestedListeners_ = std::move(requested);
  warmingListeners_ = std::move(warming);
  listenersWarming_.set(static_cast<int64_t>(warmingListeners_.size()));
  return absl::OkStatus();
}

void ProxyServer::applyWarmedListeners() {
  const std::shared_ptr<const Runtime> current = runtime_.latest();
  const bool anyWarmed = std::any_of(requestedListeners_.begin(), requestedListeners_.end(),
                                     [&](const auto& listener) {
                                       return warmingListeners_.contains(listener.name) &&
                                              routesArrived(listener, current->config);
                                     });
  if (!anyWarmed) {
    return;
  }
  if (absl::Status status = updateDynamicListeners(requestedListeners_); !status.ok()) {
    MESHD_LOG(logger(), warn, "warmed listeners not applied: {}", status.message());
  }
}

void ProxyServer::closeDrainedConnectionsLater(std::set<std::string> listeners,
                                               uint64_t generation) {
  auto timer = std::make_shared<boost::asio::steady_timer>(main_.context(), options_.drainTime);
  timer->async_wait([this, timer, listeners, generation](const boost::system::error_code& error) {
    if (error) {
      return;
    }
    for (uint32_t i = 0; i < workers_.size(); ++i) {
      workers_.loop(i).post([this, i, listeners, generation] {
        // What counts as current is the listener as this worker knows it now.
        const auto runtime = runtime_.onWorker();
        size_t closed = 0;
        for (const auto& name : listeners) {
          const config::ListenerConfig* listener = runtime->listener(name);
          closed += workerStates_[i]->connections.closeStale(
              name, generation,
              listener != nullptr ? std::optional(listener->version) : std::nullopt);
        }
        if (closed > 0) {
          MESHD_LOG(logger(), info, "drain time over: closed {} connection(s) of old listeners",
                    closed);
        }
      });
    }
  });
}

absl::Status ProxyServer::bindListeners(const config::ProxyConfig& config) {
  for (const auto& listener : config.listeners) {
    RETURN_IF_ERROR(bindListener(listener));
  }
  return absl::OkStatus();
}

absl::Status ProxyServer::bindListener(const config::ListenerConfig& listener) {
  auto bound = network::bindReusePort(listener.address, workers_.size());
  if (!bound.ok()) {
    return absl::UnavailableError(
        fmt::format("listener '{}': {}", listener.name, bound.status().message()));
  }
  MESHD_LOG(logger(), info, "listener '{}' on {}:{}", listener.name,
            bound->endpoint.address().to_string(), bound->endpoint.port());
  boundListeners_.push_back({listener.name, bound->endpoint, std::move(bound->fds)});
  boundEndpoints_[listener.name] = bound->endpoint;
  return absl::OkStatus();
}

void ProxyServer::startAccepting() {
  for (auto& bound : boundListeners_) {
    startAccepting(bound);
  }
}

void ProxyServer::startAccepting(BoundListener& bound) {
  if (bound.fds.empty()) {
    return; // already handed over
  }
  for (uint32_t i = 0; i < workers_.size(); ++i) {
    workers_.loop(i).post([this, i, fd = bound.fds[i], name = bound.name,
                           endpoint = bound.endpoint] {
      WorkerState& state = *workerStates_[i];
      core::EventLoop& loop = workers_.loop(i);
      state.acceptors[name] = std::make_unique<network::WorkerAcceptor>(
          loop, fd, endpoint, [this, i, name, &loop](boost::asio::ip::tcp::socket socket) {
            onAccept(i, loop, name, std::move(socket));
          });
      if (overload_ != nullptr && overload_->active(OverloadAction::kStopAcceptingConnections)) {
        state.acceptors[name]->setPaused(true);
      }
    });
  }
  bound.fds.clear(); // owned by the workers' acceptors now
}

void ProxyServer::stopAccepting(const std::string& name) {
  // Open connections carry on with the runtime they were accepted with.
  for (uint32_t i = 0; i < workers_.size(); ++i) {
    workers_.loop(i).post([this, i, name] { workerStates_[i]->acceptors.erase(name); });
  }
  forgetBound(name, /*started=*/true);
}

void ProxyServer::forgetBound(const std::string& name, bool started) {
  std::erase_if(boundListeners_, [&](const BoundListener& bound) {
    if (bound.name != name || bound.fds.empty() != started) {
      return false;
    }
    for (const int fd : bound.fds) {
      ::close(fd); // bound but never handed to the workers
    }
    return true;
  });
  const auto remaining =
      std::find_if(boundListeners_.begin(), boundListeners_.end(),
                   [&](const BoundListener& bound) { return bound.name == name; });
  if (remaining == boundListeners_.end()) {
    boundEndpoints_.erase(name);
  } else {
    boundEndpoints_[name] = remaining->endpoint;
  }
}

} // namespace meshd::proxy::server
