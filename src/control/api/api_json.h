// The JSON shapes of meshd's config REST API (docs/api.md): objects with their resourceVersion,
// lists, diagnostics, write results and Kubernetes-style Status errors.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "control/config/config_object.h"
#include "control/config/diagnostic.h"
#include "control/config/store/config_store.h"
#include "nlohmann/json.hpp"

namespace meshd::control::api {

// The object as stored, with metadata.resourceVersion (a string, as in Kubernetes).
nlohmann::json objectJson(const config::ConfigObject& object);
nlohmann::json listJson(const std::vector<config::ConfigObject>& objects, int64_t resourceVersion);
// {file, line, object: {kind, namespace, name}, field, message, severity, text}.
nlohmann::json diagnosticJson(const config::Diagnostic& diagnostic);
nlohmann::json diagnosticsJson(const std::vector<config::Diagnostic>& diagnostics);
// {kind: WriteResult, dryRun, resourceVersion, items: [{kind, namespace, name, action}],
//  diagnostics}.
nlohmann::json writeResultJson(const config::WriteResult& result, bool dryRun);

// The HTTP status for a store or API error, and its Kubernetes reason ("Invalid", "NotFound",
// "AlreadyExists", "Conflict", ...).
int httpStatusFor(const absl::Status& status);
std::string_view reasonFor(int httpStatus);
// {kind: Status, status: Failure, code, reason, message, diagnostics}.
nlohmann::json statusJson(int httpStatus, std::string_view message,
                          const std::vector<config::Diagnostic>& diagnostics = {});
// The same for a store error (AlreadyExists keeps its own reason).
nlohmann::json statusJson(const absl::Status& status,
                          const std::vector<config::Diagnostic>& diagnostics = {});

} // namespace meshd::control::api
