// absl::Status helpers: early-return macros for functions that return Status or StatusOr.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fmt/format.h"

// Debian's abseil has its own absl::string_view (not std::string_view): this lets fmt print it,
// so `fmt::format("{}", status.message())` works.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<std::string_view> {
  template <class Context>
  auto format(absl::string_view value, Context& context) const {
    return fmt::formatter<std::string_view>::format(std::string_view(value.data(), value.size()),
                                                    context);
  }
};

#define MESHD_CONCAT_INNER(a, b) a##b
#define MESHD_CONCAT(a, b) MESHD_CONCAT_INNER(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define RETURN_IF_ERROR(expr)                                                                      \
  do {                                                                                             \
    if (::absl::Status _status = (expr); !_status.ok()) {                                          \
      return _status;                                                                              \
    }                                                                                              \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, f())`: binds the value of a StatusOr, or returns its error.
#define ASSIGN_OR_RETURN(lhs, expr)                                                                \
  ASSIGN_OR_RETURN_IMPL(MESHD_CONCAT(_status_or_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)                                                      \
  auto tmp = (expr);                                                                               \
  if (!tmp.ok()) {                                                                                 \
    return std::move(tmp).status();                                                                \
  }                                                                                                \
  lhs = std::move(tmp).value()
