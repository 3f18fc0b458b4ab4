// Istio host names: short names resolved against a namespace ("reviews" in "default" is
// "reviews.default.svc.cluster.local") and wildcard matching ("*.example.com", "*").
#pragma once

#include <string>
#include <string_view>

namespace meshd::control::config {

inline constexpr std::string_view kDomainSuffix = "svc.cluster.local";

// As Istio's ResolveShortnameToFQDN: a name without a dot (and not a wildcard) gets
// ".<namespace>.svc.cluster.local"; anything else is returned unchanged.
std::string resolveShortHost(std::string_view host, std::string_view ns);

// Whether `host` (itself possibly a wildcard) is covered by `pattern`: "*" covers everything,
// "*.x.com" covers "a.x.com", "a.b.x.com" and "*.a.x.com"; otherwise the names are equal.
bool hostCovers(std::string_view pattern, std::string_view host);

// Whether some name is covered by both (either covers the other).
inline bool hostsOverlap(std::string_view a, std::string_view b) {
  return hostCovers(a, b) || hostCovers(b, a);
}

} // namespace meshd::control::config
