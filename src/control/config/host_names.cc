// Host name resolution and wildcard matching (host_names.h).
#include "control/config/host_names.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "fmt/format.h"

namespace meshd::control::config {

std::string resolveShortHost(std::string_view host, std::string_view ns) {
  if (host.empty() || host.front() == '*' || host.find('.') != std::string_view::npos) {
    return std::string(host);
  }
  return fmt::format("{}.{}.{}", host, ns, kDomainSuffix);
}

bool hostCovers(std::string_view pattern, std::string_view host) {
  if (pattern == "*") {
    return true;
  }
  if (pattern.starts_with("*.")) {
    const std::string_view suffix = pattern.substr(1); // ".x.com"
    if (host.starts_with("*.")) {
      // A wildcard is covered only by a wildcard for the same or a parent domain.
      return host.substr(1).size() >= suffix.size() && host.ends_with(suffix);
    }
    return host.size() > suffix.size() && host.ends_with(suffix);
  }
  return absl::EqualsIgnoreCase(absl::string_view(pattern.data(), pattern.size()),
                                absl::string_view(host.data(), host.size()));
}

} // namespace meshd::control::config
