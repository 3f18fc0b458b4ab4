// meshctl apply, delete and get: the config REST API (docs/api.md) with kubectl's output.
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "cli/meshd_client.h"
#include "nlohmann/json.hpp"

namespace meshd::cli {

struct ApplyOptions {
  std::vector<std::string> files;
  bool dryRun = false;
};
// One request per file (so that diagnostics name it); every file is tried, exit 1 if any failed.
int runApply(Context& ctx, const ApplyOptions& options, std::istream& in);

struct DeleteOptions {
  std::vector<std::string> files; // delete -f
  std::string kind;               // delete KIND NAME
  std::string name;
  bool ignoreNotFound = false;
  bool dryRun = false;
};
int runDelete(Context& ctx, const DeleteOptions& options, std::istream& in);

struct GetOptions {
  std::string kind;
  std::string name;
};
int runGet(Context& ctx, const GetOptions& options);

// The table `get` prints for a list of objects of one kind (exposed for tests).
std::string renderObjectTable(const nlohmann::json& items, std::string_view kind, bool namespaced);

} // namespace meshd::cli
