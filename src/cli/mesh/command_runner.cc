// Runs helper programs for netns setup (command_runner.h).
#include "cli/mesh/command_runner.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_join.h"
#include "fmt/format.h"

namespace meshd::cli::mesh {
namespace {

// Writes all of `data` to `fd`, ignoring a reader that went away.
void writeAll(int fd, const std::string& data) {
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;
    }
    written += static_cast<size_t>(n);
  }
}

std::string readAll(int fd) {
  std::string out;
  char chunk[4096];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return out;
    }
    out.append(chunk, static_cast<size_t>(n));
  }
}

} // namespace

absl::Status runCommand(const std::vector<std::string>& argv, const std::string& input) {
  const std::string shown = absl::StrJoin(argv, " ");
  std::vector<char*> args;
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  int in[2];
  int out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) {
    return absl::InternalError(fmt::format("{}: pipe: {}", shown, std::strerror(errno)));
  }
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return absl::InternalError(fmt::format("{}: pipe: {}", shown, std::strerror(errno)));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    for (int fd : {in[0], in[1], out[0], out[1]}) {
      ::close(fd);
    }
    return absl::InternalError(fmt::format("{}: fork: {}", shown, std::strerror(errno)));
  }
  if (pid == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(out[1], STDERR_FILENO);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  writeAll(in[1], input);
  ::close(in[1]);
  const std::string printed = readAll(out[0]);
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    return absl::OkStatus();
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (code == 127) {
    return absl::InternalError(
        fmt::format("{}: could not run it (is {} installed?)", shown, argv[0]));
  }
  return absl::InternalError(fmt::format("{} exited {}: {}", shown, code, printed));
}

} // namespace meshd::cli::mesh
