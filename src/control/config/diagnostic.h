// A validation finding about one object: an error (the whole submission is rejected) or a warning
// (accepted, reported). It names the file, the line, the object and the field path, the way
// `istioctl analyze` and Istio's admission webhook report problems.
#pragma once

#include <string>
#include <vector>

#include "control/config/config_object.h"

namespace meshd::control::config {

struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  std::string file;
  int line = 0;
  ObjectKey object;  // name empty when the object could not be identified
  std::string field; // dotted path with indexes: "spec.http[0].route[1].weight"; "" for the object
  std::string message;

  // "vs.yaml:12: error: VirtualService default/reviews: spec.http[0].route[1].weight: weights
  // must add up to 100 (they add up to 90)". File and line are left out when unknown.
  std::string toString() const;
};

bool hasErrors(const std::vector<Diagnostic>& diagnostics);

// "/spec/http/0/route" → "spec.http[0].route" (for messages).
std::string fieldPathFromPointer(const std::string& pointer);

// An error or warning about `object` at the JSON pointer `pointer`, with the line looked up.
Diagnostic errorAt(const ConfigObject& object, const std::string& pointer, std::string message);
Diagnostic warningAt(const ConfigObject& object, const std::string& pointer, std::string message);

// What the config store asks before it accepts a write. `incoming` are the objects being written;
// `resulting` is the whole config as it would be after the write (for cross-object checks such as
// "the subset a VirtualService routes to exists"). Only diagnostics about `incoming` are returned.
class ConfigValidator {
public:
  virtual ~ConfigValidator() = default;
  virtual std::vector<Diagnostic> validate(const std::vector<ConfigObject>& incoming,
                                           const std::vector<ConfigObject>& resulting) const = 0;
};

} // namespace meshd::control::config
