// meshctl: the command-line client of meshd (docs/meshctl.md). All logic is in src/cli.
#include <iostream>

#include "cli/app.h"

int main(int argc, char** argv) {
  return meshd::cli::runMeshctl(argc, argv, std::cin, std::cout, std::cerr);
}
