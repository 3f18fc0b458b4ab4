// DirectoryWatcher (directory_watcher.h) on Linux inotify.
#include "control/config/store/directory_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "core/logging.h"
#include "fmt/format.h"

namespace meshd::control::config {
namespace {

constexpr uint32_t kFileEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE;
constexpr uint32_t kTreeEvents = IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF;

size_t depthOf(const std::filesystem::path& relative) {
  size_t depth = 0;
  for (const auto& part : relative) {
    depth += part.empty() || part == "." ? 0 : 1;
  }
  return depth;
}

} // namespace

DirectoryWatcher::DirectoryWatcher(core::EventLoop& loop, std::filesystem::path root, int depth,
                                   Callback callback)
    : loop_(loop), root_(std::move(root)), depth_(depth), callback_(std::move(callback)) {}

DirectoryWatcher::~DirectoryWatcher() {
  stop();
}

absl::Status DirectoryWatcher::start() {
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    return absl::InternalError(fmt::format("inotify_init1: {}", std::strerror(errno)));
  }
  stream_ = std::make_unique<boost::asio::posix::stream_descriptor>(loop_.context(), fd_);
  watchTree("");
  if (directories_.empty()) {
    stop();
    return absl::InternalError(fmt::format("cannot watch {}", root_.string()));
  }
  read();
  return absl::OkStatus();
}

void DirectoryWatcher::stop() {
  if (stream_ != nullptr) {
    boost::system::error_code ignored;
    stream_->close(ignored); // closes fd_ and cancels the pending read
    stream_.reset();
  }
  fd_ = -1;
  directories_.clear();
}

void DirectoryWatcher::watchTree(const std::filesystem::path& relative) {
  const std::filesystem::path full = relative.empty() ? root_ : root_ / relative;
  const int wd = ::inotify_add_watch(fd_, full.c_str(), kFileEvents | kTreeEvents | IN_ONLYDIR);
  if (wd < 0) {
    MESHD_LOG(log::get("config"), warn, "cannot watch {}: {}", full.string(), std::strerror(errno));
    return;
  }
  directories_[wd] = relative;
  if (depthOf(relative) >= static_cast<size_t>(depth_)) {
    return;
  }
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(full, error)) {
    if (entry.is_directory(error) && !entry.path().filename().string().starts_with('.')) {
      watchTree(relative / entry.path().filename());
    }
  }
}

void DirectoryWatcher::read() {
  stream_->async_read_some(
      boost::asio::buffer(buffer_), [this](const boost::system::error_code& error, size_t bytes) {
        if (error == boost::asio::error::operation_aborted) {
          return;
        }
        if (error) {
          MESHD_LOG(log::get("config"), err, "inotify read: {}", error.message());
          return;
        }
        handle(bytes);
        if (stream_ != nullptr) {
          read();
        }
      });
}

void DirectoryWatcher::handle(size_t bytes) {
  std::set<std::filesystem::path> changed;
  bool rescan = false;
  size_t offset = 0;
  while (offset + sizeof(inotify_event) <= bytes) {
    inotify_event event;
    std::memcpy(&event, buffer_.data() + offset, sizeof(event));
    const char* name = buffer_.data() + offset + sizeof(inotify_event);
    offset += sizeof(inotify_event) + event.len;
    if ((event.mask & IN_Q_OVERFLOW) != 0) {
      rescan = true;
      continue;
    }
    const auto dir = directories_.find(event.wd);
    if (dir == directories_.end()) {
      continue;
    }
    if ((event.mask & IN_IGNORED) != 0) {
      directories_.erase(dir); // the directory is gone
      continue;
    }
    if ((event.mask & IN_ISDIR) != 0 || (event.mask & kTreeEvents & ~IN_CREATE) != 0) {
      rescan = true;
      continue;
    }
    if ((event.mask & kFileEvents) != 0 && event.len > 0 && offset <= bytes) {
      changed.insert(dir->second / std::string(name, ::strnlen(name, event.len)));
    }
  }
  if (rescan) {
    directories_.clear();
    // Rewatching returns the same descriptors for directories already watched.
    watchTree("");
  }
  callback_(std::vector<std::filesystem::path>(changed.begin(), changed.end()), rescan);
}

} // namespace meshd::control::config
