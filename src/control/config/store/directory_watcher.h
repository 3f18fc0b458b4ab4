// DirectoryWatcher: inotify on a directory tree (a few levels deep), read on an event loop through
// an Asio stream descriptor, so that FileConfigStore notices files people edit by hand. Reports
// the files that were written whole (close after write, or renamed into place: what editors and
// `mv` do) or removed. When the tree itself changed (a directory created, removed or renamed) or
// the kernel queue overflowed, it asks for a full rescan instead, after watching new directories.
#pragma once

#include <array>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "boost/asio/posix/stream_descriptor.hpp"
#include "core/event_loop.h"

namespace meshd::control::config {

class DirectoryWatcher {
public:
  // `changed` holds paths relative to the root; `rescan` means "look at everything".
  using Callback =
      std::function<void(const std::vector<std::filesystem::path>& changed, bool rescan)>;

  // Watches `root` and its directories down to `depth` levels below it. The callback runs on
  // `loop`'s thread. Create, start, stop and destroy it on that thread (or before it runs).
  DirectoryWatcher(core::EventLoop& loop, std::filesystem::path root, int depth, Callback callback);
  ~DirectoryWatcher();
  DirectoryWatcher(const DirectoryWatcher&) = delete;
  DirectoryWatcher& operator=(const DirectoryWatcher&) = delete;

  absl::Status start();
  void stop();

private:
  void read();
  void handle(size_t bytes);
  // Watches `relative` (a directory) and those below it, to `depth_` levels under the root.
  void watchTree(const std::filesystem::path& relative);

  core::EventLoop& loop_;
  std::filesystem::path root_;
  int depth_;
  Callback callback_;
  int fd_ = -1;
  std::unique_ptr<boost::asio::posix::stream_descriptor> stream_;
  std::map<int, std::filesystem::path> directories_; // watch descriptor → relative path
  alignas(8) std::array<char, 64 * 1024> buffer_{};
};

} // namespace meshd::control::config
