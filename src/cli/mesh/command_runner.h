// Runs a short helper program (ip, iptables-restore) to completion and turns a failure into a
// Status that quotes the command and what it printed: how meshctl sets up network namespaces.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace meshd::cli::mesh {

// Runs argv[0] (looked up in PATH) with `input` on its standard input; its output is captured.
// OK when it exits 0; otherwise Internal naming the command, its exit status and its stderr.
absl::Status runCommand(const std::vector<std::string>& argv, const std::string& input = {});

} // namespace meshd::cli::mesh
