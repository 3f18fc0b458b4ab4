// Invariant checks for our own code. Never use these for input from the network or a config file:
// such input is validated and rejected with an absl::Status.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace meshd::core::detail {
[[noreturn]] inline void assertionFailed(const char* expr, const char* message, const char* file,
                                         int line) {
  std::fprintf(stderr, "%s:%d: assertion failed: %s (%s)\n", file, line, expr, message);
  std::fflush(stderr);
  std::abort();
}
} // namespace meshd::core::detail

// Always on, in release builds too: a broken invariant must stop the process, not corrupt state.
#define MESHD_ASSERT(cond, message)                                                                \
  do {                                                                                             \
    if (!(cond)) [[unlikely]] {                                                                    \
      ::meshd::core::detail::assertionFailed(#cond, message, __FILE__, __LINE__);                  \
    }                                                                                              \
  } while (false)

#define MESHD_UNREACHABLE(message)                                                                 \
  ::meshd::core::detail::assertionFailed("unreachable", message, __FILE__, __LINE__)
