// LocalWorkload `workingDir`s in applied files are relative to the file (like a compose file's
// paths), but meshd and the process that starts workloads run elsewhere: before an apply, meshctl
// makes them absolute.
#pragma once

#include <optional>
#include <string>

#include "cli/meshd_client.h"

namespace meshd::cli {

// The file's documents as JSON (one per "---" section) with every LocalWorkload's workingDir made
// absolute against the file's directory (a missing one becomes that directory). nullopt when the
// file has no LocalWorkload (send it as it is) or does not parse (meshd will say why).
std::optional<std::string> withAbsoluteWorkingDirs(const InputFile& file);

} // namespace meshd::cli
