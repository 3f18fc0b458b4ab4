// Implements the component logger registry in logging.h on top of spdlog's registry.
#include "core/logging.h"

#include <algorithm>
#include <mutex>
#include <utility>

#include "fmt/format.h"
#include "spdlog/sinks/stdout_sinks.h"

namespace meshd::log {
namespace {

struct Registry {
  std::mutex mutex;
  spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  spdlog::level::level_enum defaultLevel = spdlog::level::info;
  std::vector<std::shared_ptr<spdlog::logger>> loggers;
};

Registry& registry() {
  static auto* instance = new Registry(); // Never destroyed: loggers outlive static destructors.
  return *instance;
}

constexpr std::string_view kPattern = "[%Y-%m-%d %T.%e][%t][%l][%n] %v";

} // namespace

spdlog::logger& get(std::string_view component) {
  Registry& reg = registry();
  std::lock_guard lock(reg.mutex);
  for (const auto& logger : reg.loggers) {
    if (logger->name() == component) {
      return *logger;
    }
  }
  auto logger = std::make_shared<spdlog::logger>(std::string(component), reg.sink);
  logger->set_level(reg.defaultLevel);
  logger->set_pattern(std::string(kPattern));
  logger->flush_on(spdlog::level::warn);
  reg.loggers.push_back(logger);
  return *logger;
}

absl::StatusOr<spdlog::level::level_enum> parseLevel(std::string_view name) {
  static constexpr std::pair<std::string_view, spdlog::level::level_enum> kNames[] = {
      {"trace", spdlog::level::trace},       {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},         {"warning", spdlog::level::warn},
      {"warn", spdlog::level::warn},         {"error", spdlog::level::err},
      {"critical", spdlog::level::critical}, {"off", spdlog::level::off},
  };
  for (const auto& [levelName, level] : kNames) {
    if (levelName == name) {
      return level;
    }
  }
  return absl::InvalidArgumentError(fmt::format(
      "unknown log level '{}' (trace, debug, info, warning, error, critical, off)", name));
}

void setAllLevels(spdlog::level::level_enum level) {
  Registry& reg = registry();
  std::lock_guard lock(reg.mutex);
  reg.defaultLevel = level;
  for (const auto& logger : reg.loggers) {
    logger->set_level(level);
  }
}

absl::Status setLevel(std::string_view component, spdlog::level::level_enum level) {
  Registry& reg = registry();
  std::lock_guard lock(reg.mutex);
  for (const auto& logger : reg.loggers) {
    if (logger->name() == component) {
      logger->set_level(level);
      return absl::OkStatus();
    }
  }
  return absl::NotFoundError(fmt::format("no logger named '{}'", component));
}

std::vector<ComponentLevel> levels() {
  Registry& reg = registry();
  std::vector<ComponentLevel> result;
  {
    std::lock_guard lock(reg.mutex);
    for (const auto& logger : reg.loggers) {
      result.push_back({logger->name(), logger->level()});
    }
  }
  std::sort(result.begin(), result.end(),
            [](const auto& a, const auto& b) { return a.component < b.component; });
  return result;
}

void initialize(spdlog::level::level_enum level) {
  setAllLevels(level);
}

} // namespace meshd::log
