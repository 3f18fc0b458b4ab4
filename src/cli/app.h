// meshctl's command line: global options, the commands and their flags (CLI11), dispatched to the
// command groups. main() only calls runMeshctl.
#pragma once

#include <iosfwd>

namespace meshd::cli {

// Exit codes: 0 ok, 1 the operation failed, 2 usage error, 3 meshd unreachable.
int runMeshctl(int argc, char** argv, std::istream& in, std::ostream& out, std::ostream& err);

} // namespace meshd::cli
