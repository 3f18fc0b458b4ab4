// Matching requests against a compiled RouteTable (route_table.h): virtual hosts, path, header and
// query matchers, header mutations, retriable statuses and hash policies.
#include <algorithm>
#include <charconv>

#include "fmt/format.h"
#include "proxy/router/route_table.h"
#include "proxy/upstream/load_balancer.h"

namespace meshd::proxy::router {
namespace {

using http::toLower;

// The path without its query string.
std::string_view pathOnly(std::string_view path) {
  return path.substr(0, path.find('?'));
}

} // namespace

bool StringMatch::matches(std::string_view input) const {
  std::string lowered;
  if (ignoreCase && kind != Kind::kRegex) {
    lowered = toLower(input);
    input = lowered;
  }
  switch (kind) {
  case Kind::kExact: return input == value;
  case Kind::kPrefix: return input.starts_with(value);
  case Kind::kSuffix: return input.ends_with(value);
  case Kind::kContains: return input.find(value) != std::string_view::npos;
  case Kind::kRegex:
    return re2::RE2::FullMatch(re2::StringPiece(input.data(), input.size()), *regex);
  }
  return false;
}

namespace {

// The set-cookie value of a cookie a hash policy made up.
std::string generatedCookie(const HashPolicy& policy, std::string_view value) {
  std::string out = fmt::format("{}=\"{}\"", policy.name, value);
  if (policy.cookieTtl->count() > 0) {
    out += fmt::format("; Max-Age={}", policy.cookieTtl->count());
  }
  if (!policy.cookiePath.empty()) {
    out += fmt::format("; Path={}", policy.cookiePath);
  }
  return out + "; HttpOnly";
}

std::optional<std::string_view> cookieValue(std::string_view cookies, std::string_view name) {
  while (!cookies.empty()) {
    const size_t semicolon = cookies.find(';');
    std::string_view pair = cookies.substr(0, semicolon);
    while (!pair.empty() && pair.front() == ' ') {
      pair.remove_prefix(1);
    }
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      std::string_view value = pair.substr(eq + 1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2); // a quoted value (RFC 6265 §4.1.1)
      }
      return value;
    }
    cookies =
        semicolon == std::string_view::npos ? std::string_view() : cookies.substr(semicolon + 1);
  }
  return std::nullopt;
}

std::optional<std::string_view> queryValue(std::string_view path, std::string_view name) {
  const size_t question = path.find('?');
  std::string_view query = question == std::string_view::npos ? "" : path.substr(question + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  return std::nullopt;
}

} // namespace

bool RetryPolicy::retriableGrpcStatus(const http::HeaderMap& response) const {
  const auto value = response.get("grpc-status");
  if (!value) {
    return false;
  }
  uint32_t code = 0;
  const auto [end, error] = std::from_chars(value->data(), value->data() + value->size(), code);
  if (error != std::errc() || end != value->data() + value->size()) {
    return false;
  }
  switch (code) {
  case 1: return (retryOn & kGrpcCancelled) != 0;
  case 4: return (retryOn & kGrpcDeadlineExceeded) != 0;
  case 8: return (retryOn & kGrpcResourceExhausted) != 0;
  case 13: return (retryOn & kGrpcInternal) != 0;
  case 14: return (retryOn & kGrpcUnavailable) != 0;
  default: return false;
  }
}

bool RetryPolicy::retriableStatus(int status) const {
  if ((retryOn & k5xx) && status >= 500 && status < 600) {
    return true;
  }
  if ((retryOn & kGatewayError) && (status == 502 || status == 503 || status == 504)) {
    return true;
  }
  if ((retryOn & kRetriable4xx) && status == 409) {
    return true;
  }
  return (retryOn & kRetriableStatusCodes) &&
         std::find(retriableStatusCodes.begin(), retriableStatusCodes.end(),
                   static_cast<uint32_t>(status)) != retriableStatusCodes.end();
}

std::optional<uint64_t> RouteAction::requestHash(const http::HeaderMap& headers,
                                                 std::string_view source_ip,
                                                 std::optional<std::string>* set_cookie) const {
  std::optional<uint64_t> combined;
  for (const auto& policy : hashPolicies) {
    std::optional<std::string> input;
    switch (policy.kind) {
    case HashPolicy::Kind::kHeader: input = headers.getJoined(policy.name); break;
    case HashPolicy::Kind::kCookie:
      if (const auto cookies = headers.getJoined("cookie")) {
        if (const auto value = cookieValue(*cookies, policy.name)) {
          input = std::string(*value);
        }
      }
      if (!input && policy.cookieTtl && set_cookie != nullptr && !source_ip.empty()) {
        // As Envoy: the new cookie's value comes from the source address, so the client's later
        // requests (which carry it) hash like this one.
        input = fmt::format("{:016x}", upstream::hash64(source_ip));
        *set_cookie = generatedCookie(policy, *input);
      }
      break;
    case HashPolicy::Kind::kSourceIp:
      if (!source_ip.empty()) {
        input = std::string(source_ip);
      }
      break;
    case HashPolicy::Kind::kQueryParameter:
      if (const auto value = queryValue(headers.path(), policy.name)) {
        input = std::string(*value);
      }
      break;
    }
    if (!input) {
      continue;
    }
    const uint64_t hash = upstream::hash64(*input);
    // Rotate-and-xor, as Envoy combines policies.
    combined = combined ? ((*combined << 1) | (*combined >> 63)) ^ hash : hash;
    if (policy.terminal) {
      break;
    }
  }
  return combined;
}

bool HeaderMatch::matches(const http::HeaderMap& headers) const {
  std::optional<std::string> value = headers.getJoined(name);
  if (!value && !treatMissingAsEmpty) {
    return kind == Kind::kPresent && present == invert;
  }
  if (!value) {
    value.emplace();
  }
  bool result = false;
  switch (kind) {
  case Kind::kPresent: result = value.has_value() == present; break;
  case Kind::kString: result = value.has_value() && string.matches(*value); break;
  case Kind::kRange: {
    int64_t number = 0;
    const auto [end, error] =
        value ? std::from_chars(value->data(), value->data() + value->size(), number)
              : std::from_chars_result{nullptr, std::errc::invalid_argument};
    result = value && error == std::errc() && end == value->data() + value->size() &&
             number >= rangeStart && number < rangeEnd;
    break;
  }
  }
  return result != invert;
}

bool QueryMatch::matches(std::string_view query) const {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return !string || string->matches(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    }
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  return false;
}

void HeaderMutation::apply(http::HeaderMap& headers) const {
  for (const auto& name : remove) {
    headers.remove(name);
  }
  for (const auto& addition : add) {
    switch (addition.mode) {
    case Mode::kAppend: headers.add(addition.name, addition.value); break;
    case Mode::kOverwrite: headers.set(addition.name, addition.value); break;
    case Mode::kAddIfAbsent:
      if (!headers.has(addition.name)) {
        headers.add(addition.name, addition.value);
      }
      break;
    case Mode::kOverwriteIfExists:
      if (headers.has(addition.name)) {
        headers.set(addition.name, addition.value);
      }
      break;
    }
  }
}

bool Route::matches(const http::HeaderMap& request) const {
  const std::string_view fullPath = request.path();
  std::string lowered;
  std::string_view subject = pathKind == PathKind::kPrefix ? fullPath : pathOnly(fullPath);
  if (!caseSensitive) {
    lowered = toLower(subject);
    subject = lowered;
  }
  bool pathMatches = false;
  switch (pathKind) {
  case PathKind::kPrefix: pathMatches = subject.starts_with(path); break;
  case PathKind::kExact: pathMatches = subject == path; break;
  case PathKind::kSeparatedPrefix:
    pathMatches =
        subject.starts_with(path) && (subject.size() == path.size() || subject[path.size()] == '/');
    break;
  case PathKind::kRegex:
    pathMatches = re2::RE2::FullMatch(re2::StringPiece(subject.data(), subject.size()), *pathRegex);
    break;
  }
  if (!pathMatches || fullPath.empty()) {
    return false;
  }
  for (const auto& header : headers) {
    if (!header.matches(request)) {
      return false;
    }
  }
  if (!queryParameters.empty()) {
    const size_t question = fullPath.find('?');
    const std::string_view query =
        question == std::string_view::npos ? "" : fullPath.substr(question + 1);
    for (const auto& parameter : queryParameters) {
      if (!parameter.matches(query)) {
        return false;
      }
    }
  }
  return true;
}

const VirtualHost* RouteTable::findVirtualHost(std::string_view authority) const {
  const std::string host = toLower(authority);
  const VirtualHost* suffixBest = nullptr;
  size_t suffixLength = 0;
  const VirtualHost* prefixBest = nullptr;
  size_t prefixLength = 0;
  const VirtualHost* any = nullptr;
  for (const auto& vhost : virtualHosts_) {
    for (const auto& domain : vhost.domains) {
      if (domain == host) {
        return &vhost;
      }
      if (domain == "*") {
        any = &vhost;
      } else if (domain.front() == '*') {
        const std::string_view suffix = std::string_view(domain).substr(1);
        if (host.size() > suffix.size() && host.ends_with(suffix) && suffix.size() > suffixLength) {
          suffixBest = &vhost;
          suffixLength = suffix.size();
        }
      } else if (domain.back() == '*') {
        const std::string_view prefix = std::string_view(domain).substr(0, domain.size() - 1);
        if (host.size() > prefix.size() && host.starts_with(prefix) &&
            prefix.size() > prefixLength) {
          prefixBest = &vhost;
          prefixLength = prefix.size();
        }
      }
    }
  }
  return suffixBest != nullptr ? suffixBest : prefixBest != nullptr ? prefixBest : any;
}

const Route* RouteTable::findRoute(const http::HeaderMap& headers,
                                   const VirtualHost** vhost_out) const {
  const VirtualHost* vhost = findVirtualHost(headers.authority());
  if (vhost_out != nullptr) {
    *vhost_out = vhost;
  }
  if (vhost == nullptr) {
    return nullptr;
  }
  for (const auto& route : vhost->routes) {
    if (route.matches(headers)) {
      return &route;
    }
  }
  return nullptr;
}

} // namespace meshd::proxy::router
