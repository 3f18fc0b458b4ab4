// Meshd test helper (meshd.h).
#include "test/support/meshd.h"

#include <regex>

#include "test/support/http_client.h"

namespace meshd::testing {

using namespace std::chrono_literals;

namespace {

uint16_t portAfter(const std::string& output, const std::string& label) {
  const std::regex line(label + " listening on [^\n]*:([0-9]+)\n");
  std::smatch match;
  return std::regex_search(output, match, line) ? static_cast<uint16_t>(std::stoi(match[1].str()))
                                                : 0;
}

} // namespace

Meshd::Meshd(std::filesystem::path config_dir, std::vector<std::string> extra_args)
    : configDir_(config_dir.empty() ? dir_.path() / "config" : std::move(config_dir)) {
  std::vector<std::string> argv = {(binaryDir() / "meshd").string(),
                                   "--config-dir",
                                   configDir_.string(),
                                   "--xds-port",
                                   "0",
                                   "--http-port",
                                   "0"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_ = std::make_unique<Process>(ProcessOptions{.argv = argv, .outputDir = dir_.path()});
  uint16_t http = 0;
  const bool ready = waitFor(
      [&] {
        if (!process_->running()) {
          return true;
        }
        const std::string output = process_->output();
        http = portAfter(output, "http");
        xdsPort_ = portAfter(output, "xds");
        return http != 0 && httpGet(http, "/ready").status == 200;
      },
      30s, 20ms);
  if (ready && process_->running()) {
    httpPort_ = http;
  }
}

} // namespace meshd::testing
