// EdsFileWatcher (eds_file_watcher.h).
#include "proxy/upstream/eds_file_watcher.h"

#include <sys/stat.h>

#include <tuple>

#include "core/logging.h"
#include "core/status.h"
#include "proxy/config/eds_file.h"

namespace meshd::proxy::upstream {
namespace {

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("upstream");
  return instance;
}

// What tells a changed file: inode (an atomic rename), size and modification time.
using FileStamp = std::tuple<ino_t, off_t, int64_t, int64_t>;

FileStamp stampOf(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return {};
  }
  return {info.st_ino, info.st_size, info.st_mtim.tv_sec, info.st_mtim.tv_nsec};
}

} // namespace

struct EdsFileWatcher::Watched {
  std::string cluster;
  std::string path;
  std::string serviceName;
  FileStamp stamp;
  std::vector<config::HostConfig> hosts;
  stats::Counter updateAttempt;
  stats::Counter updateSuccess;
  stats::Counter updateRejected;
};

EdsFileWatcher::EdsFileWatcher(core::EventLoop& loop, stats::Store& store, HostsChanged on_change,
                               std::chrono::milliseconds interval)
    : loop_(loop), store_(store), onChange_(std::move(on_change)), interval_(interval) {}

EdsFileWatcher::~EdsFileWatcher() = default;

void EdsFileWatcher::start(const config::ProxyConfig& config) {
  for (const auto& [name, cluster] : config.clusters) {
    if (cluster.type != config::ClusterType::kEds) {
      continue;
    }
    auto watched = std::make_unique<Watched>();
    watched->cluster = name;
    watched->path = cluster.edsPath;
    watched->serviceName = cluster.edsServiceName;
    watched->stamp = stampOf(cluster.edsPath);
    watched->hosts = cluster.hosts;
    const stats::Tags tags = {{"envoy_cluster_name", name}};
    watched->updateAttempt = store_.counter("cluster.update_attempt", tags, "EDS updates read");
    watched->updateSuccess =
        store_.counter("cluster.update_success", tags, "EDS updates applied or unchanged");
    watched->updateRejected =
        store_.counter("cluster.update_rejected", tags, "EDS updates rejected as invalid");
    watched_.push_back(std::move(watched));
  }
  if (!watched_.empty()) {
    timer_ = loop_.createTimer([this] { check(); });
    timer_->enable(interval_);
  }
}

void EdsFileWatcher::check() {
  for (auto& watched : watched_) {
    const FileStamp stamp = stampOf(watched->path);
    if (stamp == watched->stamp) {
      continue;
    }
    watched->stamp = stamp;
    watched->updateAttempt.inc();
    auto hosts = config::loadEdsFile(watched->path, watched->serviceName);
    if (!hosts.ok()) {
      watched->updateRejected.inc();
      MESHD_LOG(logger(), warn, "cluster '{}': EDS update rejected, keeping {} host(s): {}",
                watched->cluster, watched->hosts.size(), hosts.status().message());
      continue;
    }
    watched->updateSuccess.inc();
    if (*hosts != watched->hosts) {
      MESHD_LOG(logger(), info, "cluster '{}': EDS gives {} host(s)", watched->cluster,
                hosts->size());
      watched->hosts = *hosts;
      onChange_(watched->cluster, std::move(*hosts));
    }
  }
  timer_->enable(interval_);
}

} // namespace meshd::proxy::upstream
