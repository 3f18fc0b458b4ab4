// ConfigMetrics (config_metrics.h).
#include "control/server/config_metrics.h"

#include <set>

#include "control/config/kinds.h"

namespace meshd::control::server {

ConfigMetrics::ConfigMetrics(const config::ConfigStore& store, stats::Store& stats)
    : store_(store),
      fileProblems_(stats.setGauge("config_file_problems", {},
                                   "Files in the config directory that are not served as written "
                                   "(see /debug/configz)")) {
  for (const config::KindInfo& info : config::knownKinds()) {
    objects_.emplace(std::string(info.kind),
                     stats.setGauge("config_objects", {{"kind", std::string(info.kind)}},
                                    "Config objects in the store, by kind"));
  }
}

void ConfigMetrics::update(const std::vector<config::ConfigChange>& changes) {
  std::set<std::string> kinds;
  for (const config::ConfigChange& change : changes) {
    kinds.insert(change.key.kind);
  }
  for (const std::string& kind : kinds) {
    recount(kind);
  }
}

void ConfigMetrics::updateAll() {
  for (const auto& [kind, gauge] : objects_) {
    recount(kind);
  }
}

void ConfigMetrics::recount(const std::string& kind) {
  if (auto it = objects_.find(kind); it != objects_.end()) {
    it->second.set(static_cast<int64_t>(store_.list(kind).size()));
  }
}

} // namespace meshd::control::server
