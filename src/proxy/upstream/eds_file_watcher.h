// Follows EDS files (path_config_source) for the EDS clusters of a bootstrap: each file is checked
// every `interval`; when it changed (inode, size or modification time; an atomic rename counts),
// it is read again, and when its assignment is valid and its hosts differ they are handed to the
// owner, which rebuilds the runtime. An invalid file is rejected whole and the cluster keeps its
// hosts. Runs on the main thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/event_loop.h"
#include "core/stats/store.h"
#include "proxy/config/proxy_config.h"
#include "proxy/upstream/hosts_changed.h"

namespace meshd::proxy::upstream {

class EdsFileWatcher {
public:
  EdsFileWatcher(core::EventLoop& loop, stats::Store& store, HostsChanged on_change,
                 std::chrono::milliseconds interval = std::chrono::seconds(1));
  ~EdsFileWatcher();

  // Watches every EDS cluster of `config`, whose hosts are taken as the files' current content.
  void start(const config::ProxyConfig& config);

private:
  struct Watched;
  void check();

  core::EventLoop& loop_;
  stats::Store& store_;
  HostsChanged onChange_;
  std::chrono::milliseconds interval_;
  std::unique_ptr<core::Timer> timer_;
  std::vector<std::unique_ptr<Watched>> watched_;
};

} // namespace meshd::proxy::upstream
