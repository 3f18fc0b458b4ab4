// The route simulation harness (simulation.h).
#include "simulation.h"

#include <fstream>
#include <sstream>

#include "control/config/object_parser.h"
#include "control/translate/names.h"
#include "control/translate/translator.h"
#include "fmt/format.h"
#include "proxy/config/supported_fields.h"
#include "proxy/filters/http/cors/cors_policy.h"
#include "proxy/filters/http/fault/fault_config.h"
#include "proxy/router/redirect.h"
#include "gtest/gtest.h"

namespace meshd::control::translate::testing {
namespace {

namespace route = envoy::config::route::v3;

// The fields meshd generates that mesh-proxy does not implement yet.
void stripUnsupported(route::RouteConfiguration& config) {
  for (auto& vhost : *config.mutable_virtual_hosts()) {
    for (auto& r : *vhost.mutable_routes()) {
      r.mutable_typed_per_filter_config()->erase("envoy.filters.http.cors");
      if (r.has_route()) {
        r.mutable_route()->clear_request_mirror_policies();
        r.mutable_route()->clear_max_stream_duration();
      }
      for (auto& header : *r.mutable_match()->mutable_headers()) {
        header.clear_treat_missing_header_as_empty();
      }
    }
  }
}

void fillAction(const proxy::router::Route& compiled, const proxy::http::HeaderMap& headers,
                Outcome& out) {
  using proxy::router::Route;
  switch (compiled.actionKind) {
  case Route::ActionKind::kRedirect:
    out.redirectStatus = compiled.redirect.status;
    out.location = proxy::router::redirectLocation(compiled.redirect, compiled, headers);
    break;
  case Route::ActionKind::kDirectResponse:
    out.directStatus = compiled.directResponse.status;
    out.body = compiled.directResponse.body;
    break;
  case Route::ActionKind::kRoute: {
    const auto& action = compiled.route;
    out.cluster = action.cluster;
    for (const auto& weighted : action.weightedClusters) {
      out.weightedClusters.emplace_back(weighted.name, weighted.weight);
    }
    out.prefixRewrite = action.prefixRewrite;
    out.regexRewrite = action.regexRewrite ? action.regexRewriteSubstitution : "";
    out.hostRewrite = action.hostRewriteLiteral;
    out.timeout = action.timeout;
    out.retry = action.retryPolicy;
    out.hashPolicies = action.hashPolicies;
    break;
  }
  }
  out.cors = compiled.cors;
  if (compiled.fault) {
    if (compiled.fault->delay) {
      out.faultDelay = compiled.fault->delay->fixed;
      out.faultDelayPerMillion = compiled.fault->delay->perMillion;
    }
    if (compiled.fault->abort) {
      if (compiled.fault->abort->httpStatus != 0) {
        out.faultAbortHttp = compiled.fault->abort->httpStatus;
      }
      out.faultAbortGrpc = compiled.fault->abort->grpcStatus;
      out.faultAbortPerMillion = compiled.fault->abort->perMillion;
    }
  }
}

} // namespace

ProxyContext sidecarProxy(std::string ns, config::Labels labels) {
  ProxyContext proxy;
  proxy.type = ProxyContext::Type::kSidecar;
  proxy.ns = std::move(ns);
  proxy.labels = std::move(labels);
  return proxy;
}

ProxyContext gatewayProxy(config::Labels labels, std::string ns) {
  ProxyContext proxy = sidecarProxy(std::move(ns), std::move(labels));
  proxy.type = ProxyContext::Type::kRouter;
  return proxy;
}

ProxyContext proxylessGrpcProxy(std::string ns) {
  ProxyContext proxy = sidecarProxy(std::move(ns));
  proxy.type = ProxyContext::Type::kProxylessGrpc;
  return proxy;
}

Simulation::Simulation(std::string_view yaml, ProxyContext proxy, model::MeshConfig mesh)
    : proxy_(std::move(proxy)) {
  config::ParseResult parsed = config::parseObjects(yaml, "simulation.yaml");
  EXPECT_TRUE(parsed.diagnostics.empty())
      << (parsed.diagnostics.empty() ? "" : parsed.diagnostics[0].toString());
  std::vector<config::Diagnostic> diagnostics;
  snapshot_ = model::MeshSnapshot::build(parsed.objects, {}, std::move(mesh), diagnostics);
  EXPECT_TRUE(diagnostics.empty()) << (diagnostics.empty() ? "" : diagnostics[0].toString());
  routes_ = buildRoutes(*snapshot_, proxy_);
}

std::vector<std::string> Simulation::routeNames() const {
  std::vector<std::string> out;
  for (const auto& config : routes_) {
    out.push_back(config.name());
  }
  return out;
}

const route::RouteConfiguration* Simulation::routeConfig(std::string_view name) const {
  for (const auto& config : routes_) {
    if (config.name() == name) {
      return &config;
    }
  }
  return nullptr;
}

absl::Status meshProxyAccepts(const route::RouteConfiguration& config) {
  if (absl::Status status = proxy::config::checkSupportedFields(config, config.name());
      !status.ok()) {
    return status;
  }
  return proxy::router::RouteTable::build(config, config.name()).status();
}

Outcome Simulation::send(const Request& request, bool allowUnsupported) const {
  Outcome out;
  std::string name = request.routeConfig;
  if (name.empty()) {
    name = proxy_.type == ProxyContext::Type::kRouter ? gatewayRouteName(request.port)
                                                      : outboundRouteName(request.port);
  }
  const route::RouteConfiguration* generated = routeConfig(name);
  if (generated == nullptr) {
    out.error = "no route configuration " + name;
    return out;
  }
  route::RouteConfiguration config = *generated;
  if (absl::Status status = meshProxyAccepts(config); !status.ok()) {
    out.unsupported = std::string(status.message());
    if (!allowUnsupported) {
      out.error = out.unsupported;
      return out;
    }
    stripUnsupported(config);
  }
  auto table = proxy::router::RouteTable::build(config, name);
  if (!table.ok()) {
    out.error = std::string(table.status().message());
    return out;
  }
  proxy::http::HeaderMap headers;
  headers.add(":authority", request.authority);
  headers.add(":path", request.path);
  headers.add(":method", request.method);
  headers.add(":scheme", request.scheme);
  for (const auto& [key, value] : request.headers) {
    headers.add(key, value);
  }
  const proxy::router::VirtualHost* vhost = nullptr;
  const proxy::router::Route* compiled = (*table)->findRoute(headers, &vhost);
  if (vhost != nullptr) {
    out.virtualHost = vhost->name;
  }
  if (compiled == nullptr) {
    out.notFound = true;
    return out;
  }
  const auto vhostIndex = static_cast<int>(vhost - (*table)->virtualHosts().data());
  const auto routeIndex = static_cast<int>(compiled - vhost->routes.data());
  out.protoVirtualHost = generated->virtual_hosts(vhostIndex);
  out.proto = out.protoVirtualHost.routes(routeIndex);
  out.routeName = compiled->name;
  fillAction(*compiled, headers, out);
  return out;
}

std::string bookinfoServices() {
  std::string yaml;
  int ip = 1;
  for (std::string_view app : {"productpage", "details", "reviews", "ratings"}) {
    yaml += fmt::format(R"(---
apiVersion: v1
kind: Service
metadata: {{name: {0}, namespace: default}}
spec:
  clusterIP: 10.0.0.{1}
  selector: {{app: {0}}}
  ports:
  - {{name: http, port: 9080}}
)",
                        app, ip++);
  }
  return yaml;
}

std::string bookinfoSample(std::string_view file) {
  std::ifstream in(fmt::format("{}/samples/bookinfo/networking/{}", MESHD_SOURCE_DIR, file));
  EXPECT_TRUE(in.good()) << file;
  std::stringstream text;
  text << in.rdbuf();
  return "---\n" + text.str();
}

} // namespace meshd::control::translate::testing
