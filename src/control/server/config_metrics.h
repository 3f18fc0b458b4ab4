// The config store's gauges for meshd's /metrics: objects per kind (config_objects{kind}) and
// files in the config directory that are not served (config_file_problems). Writes accepted and
// rejected are counted by the API (control/api/config_api.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "control/config/store/config_store.h"
#include "core/stats/store.h"

namespace meshd::control::server {

class ConfigMetrics {
public:
  ConfigMetrics(const config::ConfigStore& store, stats::Store& stats);

  // Recounts the kinds that `changes` touched (a store watch callback).
  void update(const std::vector<config::ConfigChange>& changes);
  // Recounts every kind.
  void updateAll();
  void setFileProblems(size_t count) { fileProblems_.set(static_cast<int64_t>(count)); }

private:
  void recount(const std::string& kind);

  const config::ConfigStore& store_;
  std::map<std::string, stats::SetGauge, std::less<>> objects_; // by kind
  stats::SetGauge fileProblems_;
};

} // namespace meshd::control::server
