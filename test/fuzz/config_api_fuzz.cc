// Fuzz target for meshd's config REST API and the YAML the file store writes: the input is a
// sequence of requests ("METHOD TARGET\nBODY", separated by "\n===\n") sent to a ConfigApi over a
// MemoryConfigStore. Every answer must be JSON with a status the API documents, and every object
// the store ends up holding must read back unchanged from the YAML FileConfigStore would write.
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <string_view>

#include "control/api/config_api.h"
#include "control/config/object_parser.h"
#include "control/config/store/basic_config_store.h"
#include "control/config/store/yaml_writer.h"
#include "core/assert.h"
#include "core/stats/store.h"

namespace {

using namespace meshd;

class AcceptAll final : public control::config::ConfigValidator {
public:
  std::vector<control::config::Diagnostic>
  validate(const std::vector<control::config::ConfigObject>&,
           const std::vector<control::config::ConfigObject>&) const override {
    return {};
  }
};

core::AdminRequest requestFrom(std::string_view text) {
  core::AdminRequest request;
  const size_t newline = text.find('\n');
  const std::string_view line = text.substr(0, newline);
  request.body = newline == std::string_view::npos ? "" : std::string(text.substr(newline + 1));
  const size_t space = line.find(' ');
  request.method = std::string(line.substr(0, space));
  const std::string_view target =
      space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  const size_t question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) {
    request.query = core::parseQueryString(target.substr(question + 1));
  }
  return request;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::set<int> kStatuses = {200, 201, 400, 404, 405, 409, 413, 500};
  const AcceptAll validator;
  control::config::MemoryConfigStore store(validator);
  stats::Store stats;
  control::api::ConfigApi api(store, stats);

  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty()) {
    const size_t separator = input.find("\n===\n");
    const core::AdminResponse response = api.handle(requestFrom(input.substr(0, separator)));
    input = separator == std::string_view::npos ? std::string_view() : input.substr(separator + 5);
    MESHD_ASSERT(kStatuses.contains(response.status), "undocumented status");
    MESHD_ASSERT(!nlohmann::json::parse(response.body, nullptr, false).is_discarded(),
                 "the answer is not JSON");
  }
  for (const control::config::ConfigObject& object : store.list()) {
    const std::string yaml = control::config::toYaml(object.json);
    const control::config::ParseResult reread = control::config::parseObjects(yaml, "x.yaml");
    if (reread.objects.size() != 1 || reread.objects[0].json != object.json) {
      std::fprintf(
          stderr, "stored: %s\nwritten:\n%s\nread back: %s\n",
          object.json.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace).c_str(),
          yaml.c_str(),
          reread.objects.empty()
              ? (reread.diagnostics.empty() ? "" : reread.diagnostics[0].toString().c_str())
              : reread.objects[0]
                    .json.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace)
                    .c_str());
      MESHD_UNREACHABLE("the YAML written for an object does not read back as the same object");
    }
  }
  return 0;
}
