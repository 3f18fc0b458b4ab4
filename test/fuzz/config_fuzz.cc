// Fuzz target for the config front door: YAML/JSON text → parseObjects → IstioValidator (every
// typed parser and the cross-object checks). Nothing may crash, and every diagnostic must name
// something and say something.
#include <cstdint>
#include <string_view>

#include "control/config/istio_validator.h"
#include "control/config/object_parser.h"
#include "core/assert.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace meshd::control::config;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const ParseResult parsed = parseObjects(text, "fuzz.yaml");
  for (const Diagnostic& diagnostic : parsed.diagnostics) {
    MESHD_ASSERT(!diagnostic.message.empty(), "a parse diagnostic says nothing");
  }
  const std::vector<Diagnostic> diagnostics =
      IstioValidator().validate(parsed.objects, parsed.objects);
  for (const Diagnostic& diagnostic : diagnostics) {
    MESHD_ASSERT(!diagnostic.message.empty(), "a validation diagnostic says nothing");
    MESHD_ASSERT(!diagnostic.object.name.empty(), "a validation diagnostic names no object");
  }
  return 0;
}
