// A temporary directory removed (recursively) when the object goes away.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace meshd::testing {

class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Writes `content` to `name` inside the directory and returns the full path.
  std::filesystem::path write(std::string_view name, std::string_view content) const;

private:
  std::filesystem::path path_;
};

// Reads a whole file; empty if it does not exist.
std::string readFile(const std::filesystem::path& path);

} // namespace meshd::testing
