// meshctl validate (offline: the files alone) and analyze (the live config from meshd plus the
// files): the same IstioValidator meshd runs before a write, over the whole set, so cross-object
// checks (subsets, gateways, hosts) see every object given.
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "cli/meshd_client.h"
#include "control/config/config_object.h"
#include "control/config/diagnostic.h"

namespace meshd::cli {

struct CheckOptions {
  std::vector<std::string> files;
};

// Exit 1 when an error was found, 0 with warnings only.
int runValidate(Context& ctx, const CheckOptions& options, std::istream& in);
int runAnalyze(Context& ctx, const CheckOptions& options, std::istream& in);

// Validates `objects` as a whole (each is incoming, all are the resulting config) and returns the
// diagnostics sorted by file, line and object.
std::vector<control::config::Diagnostic>
checkObjects(const std::vector<control::config::ConfigObject>& objects);

} // namespace meshd::cli
