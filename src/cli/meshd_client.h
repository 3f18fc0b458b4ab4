// What every meshctl command shares: exit codes, the global options, where meshd is, and JSON
// requests to meshd's HTTP API with errors turned into readable sentences.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/http_client.h"
#include "nlohmann/json.hpp"

namespace meshd::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,      // the operation failed, validation errors, proxies not in sync
  kExitUsage = 2,       // bad command line
  kExitUnreachable = 3, // meshd could not be reached
};

inline constexpr const char* kDefaultMeshdAddress = "http://127.0.0.1:15014";

struct GlobalOptions {
  std::string meshd;    // --meshd; empty: MESHD_ADDR, then the state dir, then the default
  std::string stateDir; // --state-dir (the local mesh's; see resolveMeshdAddress)
  std::string ns = "default";
  bool allNamespaces = false;
  std::string output = "table"; // table, json or yaml
};

// Where commands write: results on `out`, errors and warnings on `err`.
struct Context {
  GlobalOptions options;
  std::ostream& out;
  std::ostream& err;
};

// --meshd, else $MESHD_ADDR, else (seam for the local-mesh state dir: `<stateDir>/meshd.addr`
// holding an address, when it exists), else http://127.0.0.1:15014.
std::string resolveMeshdAddress(const GlobalOptions& options, const char* envValue);

struct ApiResponse {
  int status = 0;
  nlohmann::json body; // null when the body was not JSON
  std::string text;
};

class MeshdClient {
public:
  explicit MeshdClient(HttpEndpoint endpoint) : endpoint_(std::move(endpoint)) {}
  const HttpEndpoint& endpoint() const { return endpoint_; }

  // Unavailable: meshd is unreachable (with a sentence naming the address).
  absl::StatusOr<ApiResponse> call(const std::string& method, const std::string& target,
                                   const std::string& body = {}) const;

private:
  HttpEndpoint endpoint_;
};

// One request to the context's meshd. When it cannot be made (a bad --meshd address, meshd
// unreachable, a broken exchange) the error is printed to ctx.err, `response` is empty and
// `exitCode` says what it means (2, 3 or 1). HTTP error statuses are responses, left to the caller.
struct MeshdCall {
  std::optional<ApiResponse> response;
  int exitCode = kExitOk;
  explicit operator bool() const { return response.has_value(); }
  const ApiResponse* operator->() const { return &*response; }
};
MeshdCall callMeshd(Context& ctx, const std::string& method, const std::string& target,
                    const std::string& body = {});
// Prints `status` to ctx.err as "meshctl: ..." and returns the exit code it means (3 when meshd is
// unreachable, else 1).
int reportError(Context& ctx, const absl::Status& status);
// The readable message of an error answer: a Status's message, else the body text.
std::string errorMessage(const ApiResponse& response);
// Percent-encodes a query parameter value.
std::string urlEncode(std::string_view value);

// Input files for -f: "-" is stdin; a directory gives its *.yaml, *.yml and *.json files sorted
// by name (not recursive).
struct InputFile {
  std::string name; // as shown in diagnostics
  std::string text;
};
absl::StatusOr<std::vector<InputFile>> readInputs(const std::vector<std::string>& paths,
                                                  std::istream& in);

// JSON as YAML (block style) or indented JSON, by `format` ("yaml" or "json").
std::string formatStructured(const nlohmann::json& value, const std::string& format);

} // namespace meshd::cli
