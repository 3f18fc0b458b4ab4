// VirtualService delegation (Istio's mergeHTTPRoutes): a root `http[]` entry with `delegate` is
// replaced by the delegate VirtualService's routes, each match merged with the root's matches.
// A delegate match must narrow the root's (same or longer uri prefix, equal exact, no regex on
// either side, no differing header, port, namespace or label values); combinations that conflict
// are dropped, and a delegate route left without any match is dropped too. The delegate's route
// fields win; the root's timeout, retries, fault, mirrors, CORS, headers and rewrite fill in
// what the delegate route leaves unset. One level only, as in Istio.
#include <algorithm>

#include "control/translate/http_routes.h"

namespace meshd::control::translate {
namespace {

using config::HttpMatchRequest;
using config::StringMatch;

bool stringMatchConflict(const std::optional<StringMatch>& root,
                         const std::optional<StringMatch>& leaf) {
  if (!root || !leaf) {
    return false;
  }
  if (root->kind == StringMatch::Kind::kRegex || leaf->kind == StringMatch::Kind::kRegex) {
    return true;
  }
  if (root->kind == StringMatch::Kind::kExact) {
    return leaf->kind != StringMatch::Kind::kExact || leaf->value != root->value;
  }
  if (root->kind == StringMatch::Kind::kPrefix) {
    return !leaf->value.starts_with(root->value); // leaf exact or prefix under the root prefix
  }
  return true;
}

bool mapConflict(const std::map<std::string, StringMatch>& root,
                 const std::map<std::string, StringMatch>& leaf) {
  return std::any_of(leaf.begin(), leaf.end(), [&](const auto& entry) {
    const auto found = root.find(entry.first);
    return found != root.end() && stringMatchConflict(found->second, entry.second);
  });
}

bool hasConflict(const HttpMatchRequest& root, const HttpMatchRequest& leaf) {
  if (stringMatchConflict(root.uri, leaf.uri) || stringMatchConflict(root.scheme, leaf.scheme) ||
      stringMatchConflict(root.method, leaf.method) ||
      stringMatchConflict(root.authority, leaf.authority) ||
      mapConflict(root.headers, leaf.headers) ||
      mapConflict(root.withoutHeaders, leaf.withoutHeaders) ||
      mapConflict(root.queryParams, leaf.queryParams)) {
    return true;
  }
  if (root.ignoreUriCase != leaf.ignoreUriCase) {
    return true;
  }
  if (root.port != 0 && leaf.port != 0 && root.port != leaf.port) {
    return true;
  }
  if (!root.sourceNamespace.empty() && leaf.sourceNamespace != root.sourceNamespace) {
    return true;
  }
  for (const auto& [key, value] : leaf.sourceLabels) {
    const auto found = root.sourceLabels.find(key);
    if (found != root.sourceLabels.end() && found->second != value) {
      return true;
    }
  }
  if (!root.gateways.empty() && !leaf.gateways.empty()) {
    return !std::all_of(leaf.gateways.begin(), leaf.gateways.end(), [&](const std::string& g) {
      return std::find(root.gateways.begin(), root.gateways.end(), g) != root.gateways.end();
    });
  }
  return false;
}

// Istio names a merged match or route "root-delegate" (or whichever of the two is set).
std::string joinNames(const std::string& root, const std::string& leaf) {
  return root.empty() ? leaf : leaf.empty() ? root : root + "-" + leaf;
}

template <class T>
void fillFrom(T& out, const T& root) {
  if (!out) {
    out = root;
  }
}

HttpMatchRequest mergeMatch(const HttpMatchRequest& root, const HttpMatchRequest& leaf) {
  HttpMatchRequest out = leaf;
  out.name = joinNames(root.name, leaf.name);
  fillFrom(out.uri, root.uri);
  fillFrom(out.scheme, root.scheme);
  fillFrom(out.method, root.method);
  fillFrom(out.authority, root.authority);
  out.headers.insert(root.headers.begin(), root.headers.end()); // keeps the leaf's on equal keys
  out.withoutHeaders.insert(root.withoutHeaders.begin(), root.withoutHeaders.end());
  out.queryParams.insert(root.queryParams.begin(), root.queryParams.end());
  out.sourceLabels.insert(root.sourceLabels.begin(), root.sourceLabels.end());
  out.port = out.port != 0 ? out.port : root.port;
  out.sourceNamespace = out.sourceNamespace.empty() ? root.sourceNamespace : out.sourceNamespace;
  if (out.gateways.empty()) {
    out.gateways = root.gateways;
  }
  if (out.statPrefix.empty()) {
    out.statPrefix = root.statPrefix;
  }
  return out;
}

// The delegate route under the root's matches; nullopt when every combination conflicts.
std::optional<config::HttpRoute> mergeRoute(const config::HttpRoute& root, config::HttpRoute leaf) {
  if (leaf.match.empty()) {
    leaf.match = root.match;
  } else if (!root.match.empty()) {
    std::vector<HttpMatchRequest> merged;
    for (const HttpMatchRequest& sub : leaf.match) {
      for (const HttpMatchRequest& top : root.match) {
        if (!hasConflict(top, sub)) {
          merged.push_back(mergeMatch(top, sub));
        }
      }
    }
    if (merged.empty()) {
      return std::nullopt;
    }
    leaf.match = std::move(merged);
  }
  leaf.name = joinNames(root.name, leaf.name);
  fillFrom(leaf.rewrite, root.rewrite);
  fillFrom(leaf.timeout, root.timeout);
  fillFrom(leaf.retries, root.retries);
  fillFrom(leaf.fault, root.fault);
  fillFrom(leaf.corsPolicy, root.corsPolicy);
  fillFrom(leaf.headers, root.headers);
  if (leaf.mirrors.empty()) {
    leaf.mirrors = root.mirrors;
  }
  return leaf;
}

} // namespace

std::vector<ScopedHttpRoute> expandDelegates(const model::MeshSnapshot& snapshot,
                                             const model::Entry<config::VirtualService>& vs) {
  std::vector<ScopedHttpRoute> out;
  for (const config::HttpRoute& route : vs.spec.http) {
    if (!route.delegate) {
      out.push_back({route, vs.key.ns});
      continue;
    }
    const std::string ns = route.delegate->ns.empty() ? vs.key.ns : route.delegate->ns;
    const auto* delegate = snapshot.delegate(ns, route.delegate->name);
    if (delegate == nullptr || !delegate->spec.isDelegate() ||
        !model::exportedTo(delegate->spec.exportTo.empty()
                               ? snapshot.mesh().defaultVirtualServiceExportTo
                               : delegate->spec.exportTo,
                           delegate->key.ns, vs.key.ns)) {
      continue; // Istio drops the root route when its delegate is missing or not visible
    }
    for (const config::HttpRoute& leaf : delegate->spec.http) {
      if (leaf.delegate) {
        continue; // delegation is one level deep
      }
      if (auto merged = mergeRoute(route, leaf)) {
        out.push_back({std::move(*merged), delegate->key.ns});
      }
    }
  }
  return out;
}

} // namespace meshd::control::translate
