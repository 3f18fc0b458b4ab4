// JSON shapes of the config REST API (api_json.h).
#include "control/api/api_json.h"

namespace meshd::control::api {

using config::Diagnostic;

nlohmann::json objectJson(const config::ConfigObject& object) {
  nlohmann::json json = object.json;
  json["metadata"]["resourceVersion"] = std::to_string(object.resourceVersion);
  return json;
}

nlohmann::json listJson(const std::vector<config::ConfigObject>& objects, int64_t resourceVersion) {
  nlohmann::json items = nlohmann::json::array();
  for (const config::ConfigObject& object : objects) {
    items.push_back(objectJson(object));
  }
  return {{"kind", "List"},
          {"apiVersion", "v1"},
          {"metadata", {{"resourceVersion", std::to_string(resourceVersion)}}},
          {"items", std::move(items)}};
}

nlohmann::json diagnosticJson(const Diagnostic& diagnostic) {
  nlohmann::json json = {
      {"severity", diagnostic.severity == Diagnostic::Severity::kError ? "error" : "warning"},
      {"file", diagnostic.file},
      {"line", diagnostic.line},
      {"object",
       {{"kind", diagnostic.object.kind},
        {"namespace", diagnostic.object.ns},
        {"name", diagnostic.object.name}}},
      {"field", diagnostic.field},
      {"message", diagnostic.message},
      {"text", diagnostic.toString()},
  };
  return json;
}

nlohmann::json diagnosticsJson(const std::vector<Diagnostic>& diagnostics) {
  nlohmann::json out = nlohmann::json::array();
  for (const Diagnostic& diagnostic : diagnostics) {
    out.push_back(diagnosticJson(diagnostic));
  }
  return out;
}

nlohmann::json writeResultJson(const config::WriteResult& result, bool dryRun) {
  nlohmann::json items = nlohmann::json::array();
  for (const config::ObjectOutcome& outcome : result.outcomes) {
    items.push_back({{"kind", outcome.key.kind},
                     {"namespace", outcome.key.ns},
                     {"name", outcome.key.name},
                     {"action", config::toString(outcome.action)}});
  }
  return {{"kind", "WriteResult"},
          {"dryRun", dryRun},
          {"resourceVersion", std::to_string(result.resourceVersion)},
          {"items", std::move(items)},
          {"diagnostics", diagnosticsJson(result.diagnostics)}};
}

int httpStatusFor(const absl::Status& status) {
  switch (status.code()) {
  case absl::StatusCode::kOk: return 200;
  case absl::StatusCode::kInvalidArgument: return 400;
  case absl::StatusCode::kNotFound: return 404;
  case absl::StatusCode::kAlreadyExists:
  case absl::StatusCode::kFailedPrecondition:
  case absl::StatusCode::kAborted: return 409;
  case absl::StatusCode::kResourceExhausted: return 413;
  case absl::StatusCode::kUnimplemented: return 405;
  default: return 500;
  }
}

std::string_view reasonFor(int httpStatus) {
  switch (httpStatus) {
  case 400: return "Invalid";
  case 404: return "NotFound";
  case 405: return "MethodNotAllowed";
  case 409: return "Conflict";
  case 413: return "RequestEntityTooLarge";
  default: return "InternalError";
  }
}

nlohmann::json statusJson(int httpStatus, std::string_view message,
                          const std::vector<Diagnostic>& diagnostics) {
  return {{"kind", "Status"},
          {"apiVersion", "v1"},
          {"status", "Failure"},
          {"code", httpStatus},
          {"reason", reasonFor(httpStatus)},
          {"message", message},
          {"diagnostics", diagnosticsJson(diagnostics)}};
}

nlohmann::json statusJson(const absl::Status& status, const std::vector<Diagnostic>& diagnostics) {
  nlohmann::json json =
      statusJson(httpStatusFor(status),
                 std::string_view(status.message().data(), status.message().size()), diagnostics);
  if (status.code() == absl::StatusCode::kAlreadyExists) {
    json["reason"] = "AlreadyExists";
  }
  return json;
}

} // namespace meshd::control::api
