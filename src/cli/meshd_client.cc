// Shared plumbing of meshctl's commands (see meshd_client.h).
#include "cli/meshd_client.h"

#include "cli/mesh/state_dir.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include "control/config/store/yaml_writer.h"
#include "core/status.h"
#include "fmt/format.h"

namespace meshd::cli {
namespace fs = std::filesystem;

std::string resolveMeshdAddress(const GlobalOptions& options, const char* envValue) {
  if (!options.meshd.empty()) {
    return options.meshd;
  }
  if (envValue != nullptr && *envValue != '\0') {
    return envValue;
  }
  if (!options.stateDir.empty()) {
    std::ifstream file(fs::path(options.stateDir) / "meshd.addr");
    std::string address;
    if (file && std::getline(file, address) && !address.empty()) {
      return address;
    }
  }
  return kDefaultMeshdAddress;
}

absl::StatusOr<ApiResponse> MeshdClient::call(const std::string& method, const std::string& target,
                                              const std::string& body) const {
  absl::StatusOr<HttpResponse> response = httpRequest(endpoint_, method, target, body);
  if (!response.ok()) {
    if (absl::IsUnavailable(response.status())) {
      return absl::UnavailableError(fmt::format("meshd is not reachable at {} ({}); is it running? "
                                                "(set the address with --meshd or MESHD_ADDR)",
                                                endpoint_.toString(), response.status().message()));
    }
    return absl::Status(response.status().code(),
                        fmt::format("request to meshd at {} failed: {}", endpoint_.toString(),
                                    response.status().message()));
  }
  ApiResponse result;
  result.status = response->status;
  result.text = std::move(response->body);
  result.body = nlohmann::json::parse(result.text, nullptr, /*allow_exceptions=*/false);
  if (result.body.is_discarded()) {
    result.body = nullptr;
  }
  return result;
}

MeshdCall callMeshd(Context& ctx, const std::string& method, const std::string& target,
                    const std::string& body) {
  // Without --state-dir, a mesh started by `meshctl up` in the default state dir is found.
  GlobalOptions options = ctx.options;
  if (options.stateDir.empty()) {
    options.stateDir = mesh::StateDir::defaultPath().string();
  }
  const std::string address = resolveMeshdAddress(options, std::getenv("MESHD_ADDR"));
  absl::StatusOr<HttpEndpoint> endpoint = parseHttpEndpoint(address);
  if (!endpoint.ok()) {
    ctx.err << "meshctl: " << endpoint.status().message() << "\n";
    return {.exitCode = kExitUsage};
  }
  absl::StatusOr<ApiResponse> response = MeshdClient(*endpoint).call(method, target, body);
  if (!response.ok()) {
    return {.exitCode = reportError(ctx, response.status())};
  }
  return {.response = std::move(*response)};
}

int reportError(Context& ctx, const absl::Status& status) {
  ctx.err << "meshctl: " << status.message() << "\n";
  return absl::IsUnavailable(status) ? kExitUnreachable : kExitFailed;
}

std::string errorMessage(const ApiResponse& response) {
  if (response.body.is_object() && response.body.contains("message") &&
      response.body["message"].is_string()) {
    return response.body["message"].get<std::string>();
  }
  std::string text = response.text;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text.empty() ? fmt::format("meshd answered HTTP {}", response.status) : text;
}

std::string urlEncode(std::string_view value) {
  std::string encoded;
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      encoded += c;
    } else {
      encoded += fmt::format("%{:02X}", byte);
    }
  }
  return encoded;
}

namespace {

absl::StatusOr<InputFile> readFile(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::NotFoundError(fmt::format("cannot read {}: no such file", path.string()));
  }
  std::stringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    return absl::InternalError(fmt::format("cannot read {}", path.string()));
  }
  return InputFile{path.string(), text.str()};
}

bool isConfigFile(const fs::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

} // namespace

absl::StatusOr<std::vector<InputFile>> readInputs(const std::vector<std::string>& paths,
                                                  std::istream& in) {
  std::vector<InputFile> files;
  for (const std::string& path : paths) {
    if (path == "-") {
      std::stringstream text;
      text << in.rdbuf();
      files.push_back({"<stdin>", text.str()});
      continue;
    }
    std::error_code error;
    if (fs::is_directory(path, error)) {
      std::vector<fs::path> entries;
      for (const auto& entry : fs::directory_iterator(path, error)) {
        if (entry.is_regular_file() && isConfigFile(entry.path())) {
          entries.push_back(entry.path());
        }
      }
      std::sort(entries.begin(), entries.end());
      for (const fs::path& entry : entries) {
        absl::StatusOr<InputFile> file = readFile(entry);
        if (!file.ok()) {
          return file.status();
        }
        files.push_back(std::move(*file));
      }
      continue;
    }
    absl::StatusOr<InputFile> file = readFile(path);
    if (!file.ok()) {
      return file.status();
    }
    files.push_back(std::move(*file));
  }
  return files;
}

std::string formatStructured(const nlohmann::json& value, const std::string& format) {
  if (format == "yaml") {
    return control::config::toYaml(value);
  }
  return value.dump(2) + "\n";
}

} // namespace meshd::cli
