// Logging: one spdlog logger per component, sharing one sink, with levels that can be changed at
// run time (the admin endpoint /logging does this) for all components or for one.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "spdlog/spdlog.h"

namespace meshd::log {

// The logger for `component`, created on first use with the current default level.
// Thread-safe; callers on hot paths should keep the returned reference.
spdlog::logger& get(std::string_view component);

// Parses "trace", "debug", "info", "warning"/"warn", "error", "critical", "off".
absl::StatusOr<spdlog::level::level_enum> parseLevel(std::string_view name);

// Sets the level of every logger (and of loggers created later).
void setAllLevels(spdlog::level::level_enum level);

// Sets the level of one component; NotFound if no such logger exists.
absl::Status setLevel(std::string_view component, spdlog::level::level_enum level);

struct ComponentLevel {
  std::string component;
  spdlog::level::level_enum level;
};
// Every component with its current level, sorted by name.
std::vector<ComponentLevel> levels();

// Sends all loggers to standard error (the default) with a compact pattern.
void initialize(spdlog::level::level_enum level = spdlog::level::info);

} // namespace meshd::log

#define MESHD_LOG(logger, severity, ...)                                                           \
  SPDLOG_LOGGER_CALL(&(logger), spdlog::level::severity, __VA_ARGS__)
