// mesh-proxy's route table end to end: route and virtual-host matching tables (which tagged
// backend answered), rewrites, redirects, direct responses, header mutations at every level,
// weighted clusters and round robin across endpoints.
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "test/integration/proxy/http_test_helpers.h"
#include "test/support/http_backend.h"
#include "test/support/mesh_proxy.h"
#include "gtest/gtest.h"

namespace meshd::testing {
namespace {

using namespace std::chrono_literals;

// Backends "r0", "r1", ... each alone in a cluster of the same name.
class HttpRoutingTest : public ::testing::Test {
protected:
  void makeBackends(int n) {
    for (int i = 0; i < n; ++i) {
      backends_.push_back(std::make_unique<HttpBackend>(fmt::format("r{}", i)));
    }
  }

  std::vector<ClusterSpec> clusters() const {
    std::vector<ClusterSpec> out;
    for (const auto& backend : backends_) {
      out.push_back({backend->name(), {backend->port()}, ""});
    }
    return out;
  }

  void startWith(const std::string& route_config, std::vector<ClusterSpec> extra_clusters = {}) {
    auto all = clusters();
    all.insert(all.end(), extra_clusters.begin(), extra_clusters.end());
    const std::string bootstrap = httpBootstrap(route_config, all);
    proxy_ = std::make_unique<MeshProxy>(bootstrap);
    ASSERT_TRUE(proxy_->started()) << proxy_->logs() << "\n" << bootstrap;
    port_ = proxy_->listenerPort("http");
    ASSERT_NE(port_, 0) << proxy_->logs();
  }

  // One virtual host ("*") whose route i has match `matches[i]` (YAML flow mapping) and sends
  // to backend ri.
  void startTable(const std::vector<std::string>& matches) {
    makeBackends(static_cast<int>(matches.size()));
    std::string routes;
    for (size_t i = 0; i < matches.size(); ++i) {
      routes += fmt::format("  - match: {}\n    route: {{ cluster: r{} }}\n", matches[i], i);
    }
    startWith("name: local\nvirtual_hosts:\n- name: all\n  domains: [\"*\"]\n  routes:\n" + routes);
  }

  // The tag of the backend that answered, or the status of a local reply.
  std::string who(const std::string& method, const std::string& target,
                  const HeaderList& headers = {}) {
    const auto response = fetch(port_, method, target, headers);
    if (response.status == 200 && response.has("x-backend")) {
      return *response.header("x-backend");
    }
    return std::to_string(response.status);
  }
  std::string who(const std::string& target, const HeaderList& headers = {}) {
    return who("GET", target, headers);
  }

  HttpBackend& backend(size_t i) { return *backends_.at(i); }

  void TearDown() override {
    if (HasFailure() && proxy_) {
      const std::string logs = proxy_->logs();
      std::cerr << "mesh-proxy logs (tail):\n"
                << (logs.size() > 4000 ? logs.substr(logs.size() - 4000) : logs) << "\n";
    }
  }

  std::vector<std::unique_ptr<HttpBackend>> backends_;
  std::unique_ptr<MeshProxy> proxy_;
  uint16_t port_ = 0;
};

struct Case {
  std::string target;
  HeaderList headers;
  std::string expected;
};

// ---------------------------------------------------------------------------------------------
// Matching

TEST_F(HttpRoutingTest, PathMatchTable) {
  ASSERT_NO_FATAL_FAILURE(startTable({
      R"({ path: "/exact" })",                             // r0
      R"({ safe_regex: { regex: "/users/[0-9]+" } })",     // r1
      R"({ path_separated_prefix: "/api" })",              // r2
      R"({ prefix: "/CaseLess", case_sensitive: false })", // r3
      R"({ prefix: "/static/" })",                         // r4
      R"({ path: "/Exact-CI", case_sensitive: false })",   // r5
      R"({ prefix: "/" })",                                // r6
  }));
  const std::vector<Case> cases = {
      {"/exact", {}, "r0"},
      {"/exact?q=1", {}, "r0"}, // the query is not part of an exact path
      {"/exact/", {}, "r6"},
      {"/exactly", {}, "r6"},
      {"/EXACT", {}, "r6"}, // case-sensitive by default
      {"/users/42", {}, "r1"},
      {"/users/42?tab=posts", {}, "r1"},
      {"/users/abc", {}, "r6"},
      {"/users/42/extra", {}, "r6"}, // a regex must match the whole path
      {"/api", {}, "r2"},
      {"/api/", {}, "r2"},
      {"/api/v1/things", {}, "r2"},
      {"/api?x=1", {}, "r2"},
      {"/apiv2", {}, "r6"},
      {"/caseless/x", {}, "r3"},
      {"/CASELESS", {}, "r3"},
      {"/static/app.js", {}, "r4"},
      {"/static", {}, "r6"},
      {"/exact-ci", {}, "r5"},
      {"/EXACT-CI?z", {}, "r5"},
      {"/", {}, "r6"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(who(c.target, c.headers), c.expected) << c.target;
  }
}

TEST_F(HttpRoutingTest, HeaderMatchTable) {
  ASSERT_NO_FATAL_FAILURE(startTable({
      R"({ prefix: "/", headers: [{ name: x-exact, string_match: { exact: "yes" } }] })", // r0
      R"({ prefix: "/", headers: [{ name: x-legacy, exact_match: "old" }] })",            // r1
      R"({ prefix: "/", headers: [{ name: x-prefix, string_match: { prefix: "pre" } }] })",
      R"({ prefix: "/", headers: [{ name: x-suffix, string_match: { suffix: ".json" } }] })",
      R"({ prefix: "/", headers: [{ name: x-contains, string_match: { contains: "mid" } }] })",
      R"({ prefix: "/", headers: [{ name: x-regex, string_match: { safe_regex: { regex: "v[0-9]+" } } }] })",
      R"({ prefix: "/", headers: [{ name: x-ci, string_match: { exact: "MiXeD", ignore_case: true } }] })",
      R"({ prefix: "/", headers: [{ name: x-present, present_match: true }] })", // r7
      R"({ prefix: "/", headers: [{ name: x-range, range_match: { start: 10, end: 20 } }] })",
      R"({ prefix: "/", headers: [{ name: ":method", string_match: { exact: "DELETE" } }] })",
      R"({ prefix: "/inv", headers: [{ name: x-env, string_match: { exact: "prod" }, invert_match: true }] })",
      R"({ prefix: "/", headers: [{ name: X-Upper-Name, string_match: { exact: "v" } }] })", // r11
      R"({ prefix: "/" })",                                                                  // r12
  }));
  const std::vector<Case> cases = {
      {"/", {{"x-exact", "yes"}}, "r0"},
      {"/", {{"x-exact", "YES"}}, "r12"},
      {"/", {{"x-exact", "yes!"}}, "r12"},
      {"/", {{"x-legacy", "old"}}, "r1"},
      {"/", {{"x-prefix", "prefix-thing"}}, "r2"},
      {"/", {{"x-prefix", "apre"}}, "r12"},
      {"/", {{"x-suffix", "data.json"}}, "r3"},
      {"/", {{"x-suffix", "data.json.bak"}}, "r12"},
      {"/", {{"x-contains", "a-mid-b"}}, "r4"},
      {"/", {{"x-regex", "v12"}}, "r5"},
      {"/", {{"x-regex", "v12a"}}, "r12"}, // safe_regex matches the whole value
      {"/", {{"x-ci", "mixed"}}, "r6"},
      {"/", {{"x-ci", "MIXED"}}, "r6"},
      {"/", {{"x-present", "anything"}}, "r7"},
      {"/", {{"x-range", "15"}}, "r8"},
      {"/", {{"x-range", "10"}}, "r8"},
      {"/", {{"x-range", "20"}}, "r12"}, // end is exclusive
      {"/", {{"x-range", "9"}}, "r12"},
      {"/", {{"x-range", "abc"}}, "r12"},
      {"/inv", {{"x-env", "dev"}}, "r10"},
      {"/inv", {{"x-env", "prod"}}, "r12"},
      {"/", {{"x-upper-name", "v"}}, "r11"}, // header names are case-insensitive
      {"/", {}, "r12"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(who(c.target, c.headers), c.expected)
        << c.target << " "
        << (c.headers.empty() ? "" : c.headers[0].first + ": " + c.headers[0].second);
  }
  EXPECT_EQ(who("DELETE", "/anything"), "r9");
  EXPECT_EQ(who("POST", "/anything"), "r12");
}

TEST_F(HttpRoutingTest, QueryParameterAndCombinedMatchTable) {
  ASSERT_NO_FATAL_FAILURE(startTable({
      R"({ prefix: "/q", query_parameters: [{ name: debug, string_match: { exact: "true" } }] })",
      R"({ prefix: "/q", query_parameters: [{ name: user, present_match: true }] })",
      R"({ prefix: "/q", query_parameters: [{ name: tag, string_match: { prefix: "beta" } }] })",
      R"({ prefix: "/q", headers: [{ name: x-a, present_match: true }, { name: x-b, present_match: true }] })",
      R"({ prefix: "/q", query_parameters: [{ name: a, string_match: { exact: "1" } }, { name: b, string_match: { exact: "2" } }] })",
      R"({ prefix: "/" })", // r5
  }));
  const std::vector<Case> cases = {
      {"/q?debug=true", {}, "r0"},
      {"/q?x=1&debug=true", {}, "r0"},
      {"/q?debug=false", {}, "r5"},
      {"/q?debug=true&user=bob", {}, "r0"}, // the first matching route wins
      {"/q?user", {}, "r1"},
      {"/q?user=bob", {}, "r1"},
      {"/q?tag=beta-7", {}, "r2"},
      {"/q?tag=alpha", {}, "r5"},
      {"/q", {{"x-a", "1"}, {"x-b", "1"}}, "r3"},
      {"/q", {{"x-a", "1"}}, "r5"}, // every header matcher must hold
      {"/q?a=1&b=2", {}, "r4"},
      {"/q?b=2&a=1", {}, "r4"},
      {"/q?a=1", {}, "r5"},
      {"/q", {}, "r5"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(who(c.target, c.headers), c.expected) << c.target;
  }
}

// Virtual hosts: r<i> serves the virtual host i of `domains`.
std::string virtualHostConfig(const std::vector<std::string>& domains) {
  std::string out = "name: local\nvirtual_hosts:\n";
  for (size_t i = 0; i < domains.size(); ++i) {
    out += fmt::format("- name: vh{0}\n  domains: {1}\n  routes:\n"
                       "  - match: {{ prefix: \"/\" }}\n    route: {{ cluster: r{0} }}\n",
                       i, domains[i]);
  }
  return out;
}

TEST_F(HttpRoutingTest, VirtualHostDomainTable) {
  makeBackends(6);
  ASSERT_NO_FATAL_FAILURE(startWith(virtualHostConfig({
      R"(["api.example.com"])",                         // r0
      R"(["*.example.com"])",                           // r1
      R"(["*.eu.example.com"])",                        // r2
      R"(["shop.*"])",                                  // r3
      R"(["api.example.com:8080", "alt.example.org"])", // r4
      R"(["*"])",                                       // r5
  })));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"api.example.com", "r0"},
      {"API.Example.COM", "r0"}, // domains are case-insensitive
      {"www.example.com", "r1"},
      {"x.eu.example.com", "r2"}, // the longest suffix wins
      {"eu.example.com", "r1"},
      {"shop.local", "r3"},
      {"shop.example.com", "r1"},     // suffix wildcards before prefix wildcards
      {"api.example.com:8080", "r4"}, // compared with the port
      {"alt.example.org", "r4"},
      {"api.example.com:9090", "r5"},
      {"example.com", "r5"}, // a wildcard needs at least one character
      {"other.org", "r5"},
  };
  for (const auto& [host, expected] : cases) {
    EXPECT_EQ(who("/", {{"host", host}}), expected) << host;
  }
}

TEST_F(HttpRoutingTest, NoMatchingVirtualHostGets404) {
  makeBackends(1);
  ASSERT_NO_FATAL_FAILURE(startWith(virtualHostConfig({R"(["only.example.com"])"})));
  EXPECT_EQ(who("/", {{"host", "only.example.com"}}), "r0");
  EXPECT_EQ(who("/", {{"host", "other.example.com"}}), "404");
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.no_route", "1"))
      << statOf(*proxy_, "http.ingress.no_route");
}

TEST_F(HttpRoutingTest, AbsoluteFormTargetRoutesByItsHost) {
  makeBackends(2);
  ASSERT_NO_FATAL_FAILURE(startWith(virtualHostConfig({R"(["api.example.com"])", R"(["*"])"})));
  HttpConnection connection(port_);
  ASSERT_TRUE(
      connection.send("GET http://api.example.com/echo?x=1 HTTP/1.1\r\nhost: other.org\r\n\r\n"));
  const auto response = connection.read();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("x-backend"), "r0");
  ASSERT_EQ(backend(0).requestCount(), 1u);
  const auto request = backend(0).requests()[0];
  EXPECT_EQ(request.target, "/echo?x=1"); // forwarded in origin form
  EXPECT_EQ(request.header("host"), "api.example.com");
}

// ---------------------------------------------------------------------------------------------
// Rewrites

TEST_F(HttpRoutingTest, PrefixRewrite) {
  makeBackends(1);
  ASSERT_NO_FATAL_FAILURE(startWith(R"(
      name: local
      virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
        - match: { prefix: "/old" }
          route: { cluster: r0, prefix_rewrite: "/new" }
        - match: { prefix: "/strip/" }
          route: { cluster: r0, prefix_rewrite: "/" }
        - match: { path: "/exact-path" }
          route: { cluster: r0, prefix_rewrite: "/replaced" }
        - match: { prefix: "/Upper", case_sensitive: false }
          route: { cluster: r0, prefix_rewrite: "/lower" }
      )"));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/old/thing?q=1", "/new/thing?q=1"}, {"/old", "/new"},         {"/strip/a/b", "/a/b"},
      {"/exact-path?z=9", "/replaced?z=9"}, {"/UPPER/x", "/lower/x"},
  };
  for (const auto& [target, expected] : cases) {
    const auto response = fetchGet(port_, target);
    EXPECT_EQ(response.status, 200) << target;
    EXPECT_EQ(response.header("x-backend-target"), expected) << target;
  }
}

TEST_F(HttpRoutingTest, RegexRewriteKeepsTheQuery) {
  makeBackends(1);
  ASSERT_NO_FATAL_FAILURE(startWith(R"(
      name: local
      virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
        - match: { prefix: "/service/" }
          route:
            cluster: r0
            regex_rewrite:
              pattern: { regex: "^/service/([^/]+)(/.*)$" }
              substitution: "\\2/instance/\\1"
        - match: { prefix: "/" }
          route:
            cluster: r0
            regex_rewrite: { pattern: { regex: "one" }, substitution: "two" }
      )"));
  EXPECT_EQ(fetchGet(port_, "/service/foo/v1/api?x=1").header("x-backend-target"),
            "/v1/api/instance/foo?x=1");
  // Every match is replaced; the query string is left alone.
  EXPECT_EQ(fetchGet(port_, "/xxx/one/one?one=1").header("x-backend-target"), "/xxx/two/two?one=1");
}

TEST_F(HttpRoutingTest, HostRewriteLiteral) {
  makeBackends(1);
  ASSERT_NO_FATAL_FAILURE(startWith(R"(
      name: local
      virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
        - match: { prefix: "/" }
          route: { cluster: r0, host_rewrite_literal: "rewritten.example.com" }
      )"));
  EXPECT_EQ(fetchGet(port_, "/echo", {{"host", "original.example.com"}}).status, 200);
  ASSERT_EQ(backend(0).requestCount(), 1u);
  EXPECT_EQ(backend(0).requests()[0].header("host"), "rewritten.example.com");
}

TEST_F(HttpRoutingTest, AutoHostRewriteLeavesHostAloneForStaticEndpoints) {
  // Envoy swaps in the upstream host's *hostname*, which STATIC endpoints do not have; its docs:
  // "applicable only when the destination cluster is of type strict_dns or logical_dns. Setting
  // this to true with other cluster types has no effect."
  makeBackends(1);
  ASSERT_NO_FATAL_FAILURE(startWith(R"(
      name: local
      virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
        - match: { prefix: "/" }
          route: { cluster: r0, auto_host_rewrite: true }
      )"));
  EXPECT_EQ(fetchGet(port_, "/echo", {{"host", "original.example.com"}}).status, 200);
  ASSERT_EQ(backend(0).requestCount(), 1u);
  EXPECT_EQ(backend(0).requests()[0].header("host"), "original.example.com");
}

// ---------------------------------------------------------------------------------------------
// Redirects

std::string redirectConfig() {
  return R"(
      name: local
      virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
        - match: { prefix: "/https" }
          redirect: { https_redirect: true }
        - match: { prefix: "/found" }
          redirect: { host_redirect: "new.example.com", response_code: FOUND }
        - match: { prefix: "/port" }
          redirect: { port_redirect: 8443 }
        - match: { path: "/pathstrip" }
          redirect: { path_redirect: "/new/place", strip_query: true }
        - match: { prefix: "/path" }
          redirect: { path_redirect: "/new/place" }
        - match: { prefix: "/old-prefix/" }
          redirect: { prefix_rewrite: "/new-prefix/", response_code: TEMPORARY_REDIRECT }
        - match: { prefix: "/scheme" }
          redirect: { scheme_redirect: "https", host_redirect: "secure.example.com", response_code: PERMANENT_REDIRECT }
        - match: { prefix: "/see" }
          redirect: { path_redirect: "/other", response_code: SEE_OTHER }
        - match: { prefix: "/pq" }
          redirect: { path_redirect: "/dest?from=redirect" }
      )";
}

struct RedirectCase {
  std::string target;
  std::string host;
  int status;
  std::string location;
};

void checkRedirects(uint16_t port, const std::vector<RedirectCase>& cases) {
  for (const auto& c : cases) {
    const auto response = fetchGet(port, c.target, {{"host", c.host}});
    EXPECT_EQ(response.status, c.status) << c.host << c.target;
    EXPECT_EQ(response.header("location").value_or("<none>"), c.location) << c.host << c.target;
  }
}

TEST_F(HttpRoutingTest, RedirectStatusCodesAndPaths) {
  ASSERT_NO_FATAL_FAILURE(startWith(redirectConfig()));
  checkRedirects(
      port_,
      {
          {"/https?x=1", "example.com", 301, "https://example.com/https?x=1"},
          {"/found/a", "example.com", 302, "http://new.example.com/found/a"},
          {"/port", "example.com", 301, "http://example.com:8443/port"},
          {"/path?keep=1", "example.com", 301, "http://example.com/new/place?keep=1"},
          {"/pathstrip?drop=1", "example.com", 301, "http://example.com/new/place"},
          {"/old-prefix/a/b?c=d", "example.com", 307, "http://example.com/new-prefix/a/b?c=d"},
          {"/scheme/x", "example.com", 308, "https://secure.example.com/scheme/x"},
          {"/see", "example.com", 303, "http://example.com/other"},
      });
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.rq_redirect", "8"))
      << statOf(*proxy_, "http.ingress.rq_redirect");
}

TEST_F(HttpRoutingTest, RedirectPortHandlingFollowsEnvoy) {
  ASSERT_NO_FATAL_FAILURE(startWith(redirectConfig()));
  checkRedirects(port_, {
                            // https_redirect keeps a non-default port and drops ":80".
                            {"/https", "example.com:8080", 301, "https://example.com:8080/https"},
                            {"/https", "example.com:80", 301, "https://example.com/https"},
                            // port_redirect replaces the request's port.
                            {"/port", "example.com:8080", 301, "http://example.com:8443/port"},
                        });
}

TEST_F(HttpRoutingTest, HostRedirectReplacesHostAndPort) {
  // Envoy's host_redirect swaps the whole authority: the request's port is not carried over.
  ASSERT_NO_FATAL_FAILURE(startWith(redirectConfig()));
  checkRedirects(port_,
                 {
                     {"/found", "example.com:8080", 302, "http://new.example.com/found"},
                     {"/scheme", "example.com:8080", 308, "https://secure.example.com/scheme"},
                 });
}

TEST_F(HttpRoutingTest, PathRedirectWithAQueryReplacesTheRequestQuery) {
  // A path_redirect carrying its own query wins over the request's query (Envoy's newUri).
  ASSERT_NO_FATAL_FAILURE(startWith(redirectConfig()));
  checkRedirects(port_,
                 {
                     {"/pq?x=1", "example.com", 301, "http://example.com/dest?from=redirect"},
                     {"/pq", "example.com", 301, "http://example.com/dest?from=redirect"},
                 });
}

// ---------------------------------------------------------------------------------------------
// Direct responses

std::string directResponseConfig() {
  return R"(
      name: local
      virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
        - match: { path: "/health" }
          direct_response: { status: 200, body: { inline_string: "healthy\n" } }
        - match: { prefix: "/maintenance" }
          direct_response: { status: 503, body: { inline_string: "down for maintenance" } }
        - match: { path: "/teapot" }
          direct_response: { status: 418 }
        - match: { prefix: "/" }
          route: { cluster: r0 }
      )";
}

TEST_F(HttpRoutingTest, DirectResponsesReturnTheirStatusAndBody) {
  makeBackends(1);
  ASSERT_NO_FATAL_FAILURE(startWith(directResponseConfig()));
  HttpConnection connection(port_);
  const auto health = connection.request("GET", "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "healthy\n");
  EXPECT_EQ(health.header("content-length"), "8");
  const auto maintenance = connection.request("GET", "/maintenance/x");
  EXPECT_EQ(maintenance.status, 503);
  EXPECT_EQ(maintenance.body, "down for maintenance");
  // Answered before its body was read, a request with a body costs its connection (as in
  // Envoy's HTTP/1 codec), but the reply itself is complete.
  HttpConnection withBody(port_);
  const auto post = withBody.request("POST", "/maintenance/x", {}, "ignored body");
  EXPECT_EQ(post.status, 503);
  EXPECT_EQ(post.body, "down for maintenance");
  const auto teapot = connection.request("GET", "/teapot");
  EXPECT_EQ(teapot.status, 418);
  EXPECT_EQ(teapot.body, "");
  EXPECT_TRUE(teapot.complete);
  EXPECT_EQ(connection.request("GET", "/echo").header("x-backend"), "r0");
  EXPECT_EQ(backend(0).requestCount(), 1u);
  EXPECT_TRUE(statReaches(*proxy_, "http.ingress.rq_direct_response", "4"))
      << statOf(*proxy_, "http.ingress.rq_direct_response");
}

TEST_F(HttpRoutingTest, HeadOfADirectResponseHasNoBody) {
  makeBackends(1);
  ASSERT_NO_FATAL_FAILURE(startWith(directResponseConfig()));
  HttpConnection connection(port_);
  const auto head = connection.request("HEAD", "/health");
  EXPECT_EQ(head.status, 200);
  const auto next = connection.request("GET", "/health");
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "healthy\n");
}

TEST_F(HttpRoutingTest, PipelinedDirectAndProxiedResponsesStayInOrder) {
  makeBackends(1);
  ASSERT_NO_FATAL_FAILURE(startWith(directResponseConfig()));
  HttpConnection connection(port_);
  ASSERT_TRUE(connection.send(rawRequest("GET", "/delay/200") + rawRequest("GET", "/health") +
                              rawRequest("GET", "/echo?second") +
                              rawRequest("GET", "/maintenance") + rawRequest("GET", "/bytes/3")));
  const auto r1 = connection.read();
  const auto r2 = connection.read();
  const auto r3 = connection.read();
  const auto r4 = connection.read();
  const auto r5 = connection.read();
  EXPECT_EQ(r1.body, "delayed");
  EXPECT_EQ(r2.body, "healthy\n");
  EXPECT_EQ(r3.header("x-backend-target"), "/echo?second");
  EXPECT_EQ(r4.status, 503);
  EXPECT_EQ(r5.body, patternBytes(3));
}

// ---------------------------------------------------------------------------------------------
// Header mutations

TEST_F(HttpRoutingTest, RequestHeadersAddedAndRemovedAtEveryLevel) {
  makeBackends(1);
  ASSERT_NO_FATAL_FAILURE(startWith(R"(
      name: local
      request_headers_to_add: [{ header: { key: x-rc, value: rc } }]
      request_headers_to_remove: [x-strip-rc]
      virtual_hosts:
      - name: all
        domains: ["*"]
        request_headers_to_add: [{ header: { key: x-vh, value: vh } }]
        request_headers_to_remove: [x-strip-vh]
        routes:
        - match: { prefix: "/" }
          request_headers_to_add: [{ header: { key: x-route, value: route } }]
          request_headers_to_remove: [x-strip-route]
          route:
            weighted_clusters:
              clusters:
              - name: r0
                weight: 100
                request_headers_to_add: [{ header: { key: x-wc, value: wc } }]
                request_headers_to_remove: [x-strip-wc]
      )"));
  EXPECT_EQ(fetchGet(port_, "/echo",
                     {{"x-strip-rc", "1"},
                      {"x-strip-vh", "1"},
                      {"x-strip-route", "1"},
                      {"x-strip-wc", "1"},
                      {"x-keep", "1"}})
                .status,
            200);
  ASSERT_EQ(backend(0).requestCount(), 1u);
  const auto request = backend(0).requests()[0];
  EXPECT_EQ(request.header("x-rc"), "rc");
  EXPECT_EQ(request.header("x-vh"), "vh");
  EXPECT_EQ(request.header("x-route"), "route");
  EXPECT_EQ(request.header("x-wc"), "wc");
  EXPECT_EQ(request.header("x-keep"), "1");
  for (const std::string name : {"x-strip-rc", "x-strip-vh", "x-strip-route", "x-strip-wc"}) {
    EXPECT_FALSE(request.has(name)) << name;
  }
}

std::string allValues(const RecordedRequest& request, const std::string& name) {
  std::string out;
  for (const auto& value : request.headerValues(name)) {
    out += (out.empty() ? "" : ",") + value;
  }
  return out;
}

TEST_F(HttpRoutingTest, RequestHeaderAppendActions) {
  makeBackends(1);
  ASSERT_NO_FATAL_FAILURE(startWith(R"(
      name: local
      virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
        - match: { prefix: "/" }
          route: { cluster: r0 }
          request_headers_to_add:
          - header: { key: x-append, value: added }
          - header: { key: x-legacy-append, value: added }
            append: true
          - header: { key: x-legacy-overwrite, value: added }
            append: false
          - header: { key: x-if-absent, value: added }
            append_action: ADD_IF_ABSENT
          - header: { key: x-if-absent-missing, value: added }
            append_action: ADD_IF_ABSENT
          - header: { key: x-overwrite, value: added }
            append_action: OVERWRITE_IF_EXISTS_OR_ADD
          - header: { key: x-overwrite-missing, value: added }
            append_action: OVERWRITE_IF_EXISTS_OR_ADD
          - header: { key: x-if-exists, value: added }
            append_action: OVERWRITE_IF_EXISTS
          - header: { key: x-if-exists-missing, value: added }
            append_action: OVERWRITE_IF_EXISTS
      )"));
  EXPECT_EQ(fetchGet(port_, "/echo",
                     {{"x-append", "client"},
                      {"x-legacy-append", "client"},
                      {"x-legacy-overwrite", "client"},
                      {"x-if-absent", "client"},
                      {"x-overwrite", "client"},
                      {"x-if-exists", "client"}})
                .status,
            200);
  ASSERT_EQ(backend(0).requestCount(), 1u);
  const auto request = backend(0).requests()[0];
  EXPECT_EQ(allValues(request, "x-append"), "client,added");
  EXPECT_EQ(allValues(request, "x-legacy-append"), "client,added");
  EXPECT_EQ(allValues(request, "x-legacy-overwrite"), "added");
  EXPECT_EQ(allValues(request, "x-if-absent"), "client");
  EXPECT_EQ(allValues(request, "x-if-absent-missing"), "added");
  EXPECT_EQ(allValues(request, "x-overwrite"), "added");
  EXPECT_EQ(allValues(request, "x-overwrite-missing"), "added");
  EXPECT_EQ(allValues(request, "x-if-exists"), "added");
  EXPECT_FALSE(request.has("x-if-exists-missing"));
}

TEST_F(HttpRoutingTest, LessSpecificLevelsApplyLastByDefault) {
  // Without most_specific_header_mutations_wins, Envoy applies route, then virtual host, then
  // route configuration: an overwrite at the route configuration wins, appends come in that order.
  makeBackends(1);
  ASSERT_NO_FATAL_FAILURE(startWith(R"(
      name: local
      request_headers_to_add:
      - { header: { key: x-level, value: global }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }
      - { header: { key: x-chain, value: global } }
      virtual_hosts:
      - name: all
        domains: ["*"]
        request_headers_to_add:
        - { header: { key: x-level, value: vhost }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }
        - { header: { key: x-chain, value: vhost } }
        routes:
        - match: { prefix: "/" }
          route: { cluster: r0 }
          request_headers_to_add:
          - { header: { key: x-level, value: route }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }
          - { header: { key: x-chain, value: route } }
      )"));
  EXPECT_EQ(fetchGet(port_, "/echo").status, 200);
  ASSERT_EQ(backend(0).requestCount(), 1u);
  const auto request = backend(0).requests()[0];
  EXPECT_EQ(allValues(request, "x-level"), "global");
  EXPECT_EQ(allValues(request, "x-chain"), "route,vhost,global");
}

TEST_F(HttpRoutingTest, ResponseHeadersAddedAndRemovedAtEveryLevel) {
  makeBackends(1);
  ASSERT_NO_FATAL_FAILURE(startWith(R"(
      name: local
      response_headers_to_add: [{ header: { key: x-rc, value: rc } }]
      response_headers_to_remove: [x-strip-rc]
      virtual_hosts:
      - name: all
        domains: ["*"]
        response_headers_to_add: [{ header: { key: x-vh, value: vh } }]
        response_headers_to_remove: [x-strip-vh]
        routes:
        - match: { prefix: "/" }
          response_headers_to_add:
          - header: { key: x-route, value: route }
          - header: { key: x-from-backend, value: proxy }
            append_action: OVERWRITE_IF_EXISTS_OR_ADD
          response_headers_to_remove: [x-strip-route]
          route:
            weighted_clusters:
              clusters:
              - name: r0
                weight: 1
                response_headers_to_add: [{ header: { key: x-wc, value: wc } }]
                response_headers_to_remove: [x-strip-wc]
      )"));
  const auto response = fetchGet(port_, "/echo",
                                 {{"x-backend-respond-header", "x-strip-rc: 1"},
                                  {"x-backend-respond-header", "x-strip-vh: 1"},
                                  {"x-backend-respond-header", "x-strip-route: 1"},
                                  {"x-backend-respond-header", "x-strip-wc: 1"},
                                  {"x-backend-respond-header", "x-from-backend: backend"},
                                  {"x-backend-respond-header", "x-untouched: 1"}});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("x-rc"), "rc");
  EXPECT_EQ(response.header("x-vh"), "vh");
  EXPECT_EQ(response.header("x-route"), "route");
  EXPECT_EQ(response.header("x-wc"), "wc");
  EXPECT_EQ(response.headerValues("x-from-backend"), std::vector<std::string>{"proxy"});
  EXPECT_EQ(response.header("x-untouched"), "1");
  for (const std::string name : {"x-strip-rc", "x-strip-vh", "x-strip-route", "x-strip-wc"}) {
    EXPECT_FALSE(response.has(name)) << name;
  }
}

TEST_F(HttpRoutingTest, ResponseHeadersToAddApplyToDirectResponsesToo) {
  ASSERT_NO_FATAL_FAILURE(startWith(R"(
      name: local
      response_headers_to_add: [{ header: { key: x-rc, value: rc } }]
      virtual_hosts:
      - name: all
        domains: ["*"]
        response_headers_to_add: [{ header: { key: x-vh, value: vh } }]
        routes:
        - match: { prefix: "/" }
          direct_response: { status: 200, body: { inline_string: "direct" } }
          response_headers_to_add: [{ header: { key: x-route, value: route } }]
      )"));
  const auto response = fetchGet(port_, "/anything");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "direct");
  EXPECT_EQ(response.header("x-rc"), "rc");
  EXPECT_EQ(response.header("x-vh"), "vh");
  EXPECT_EQ(response.header("x-route"), "route");
}

// ---------------------------------------------------------------------------------------------
// Load balancing

TEST_F(HttpRoutingTest, WeightedClustersSplitTraffic) {
  makeBackends(2);
  ASSERT_NO_FATAL_FAILURE(startWith(R"(
      name: local
      virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
        - match: { prefix: "/" }
          route:
            weighted_clusters:
              clusters:
              - name: r0
                weight: 80
                response_headers_to_add: [{ header: { key: x-picked, value: r0 } }]
              - name: r1
                weight: 20
                response_headers_to_add: [{ header: { key: x-picked, value: r1 } }]
      )"));
  HttpConnection connection(port_);
  std::map<std::string, int> served;
  for (int i = 0; i < 400; ++i) {
    const auto response = connection.request("GET", "/echo");
    ASSERT_EQ(response.status, 200) << i;
    const std::string tag = response.header("x-backend").value_or("?");
    ++served[tag];
    // The per-cluster response headers follow the cluster that was picked.
    EXPECT_EQ(response.header("x-picked"), tag);
  }
  const double share = served["r0"] / 400.0;
  EXPECT_GE(share, 0.70) << served["r0"] << "/" << served["r1"];
  EXPECT_LE(share, 0.90) << served["r0"] << "/" << served["r1"];
  EXPECT_EQ(served["r0"] + served["r1"], 400);
}

TEST_F(HttpRoutingTest, ZeroWeightClusterGetsNothing) {
  makeBackends(2);
  ASSERT_NO_FATAL_FAILURE(startWith(R"(
      name: local
      virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
        - match: { prefix: "/" }
          route:
            weighted_clusters:
              clusters:
              - { name: r0, weight: 0 }
              - { name: r1, weight: 5 }
      )"));
  HttpConnection connection(port_);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(connection.request("GET", "/echo").header("x-backend"), "r1") << i;
  }
  EXPECT_EQ(backend(0).requestCount(), 0u);
}

TEST_F(HttpRoutingTest, RoundRobinSpreadsRequestsAcrossEndpoints) {
  HttpBackend a("a");
  HttpBackend b("b");
  HttpBackend c("c");
  ASSERT_NO_FATAL_FAILURE(startWith(
      catchAllRoutes("rr"), {{"rr", {a.port(), b.port(), c.port()}, "lb_policy: ROUND_ROBIN"}}));
  std::map<std::string, int> served;
  {
    // Balancing is per request, not per client connection.
    HttpConnection connection(port_);
    for (int i = 0; i < 150; ++i) {
      const auto response = connection.request("GET", "/echo");
      ASSERT_EQ(response.status, 200) << i;
      ++served[response.header("x-backend").value_or("?")];
    }
  }
  // One upstream connection per endpoint, reused for every request on this worker.
  EXPECT_EQ(a.connectionsAccepted() + b.connectionsAccepted() + c.connectionsAccepted(), 3);
  for (int i = 0; i < 150; ++i) {
    const auto response = fetchGet(port_, "/echo");
    ASSERT_EQ(response.status, 200) << i;
    ++served[response.header("x-backend").value_or("?")];
  }
  EXPECT_EQ(served.size(), 3u);
  for (const auto& [tag, count] : served) {
    EXPECT_GE(count, 60) << tag; // at least 20% of 300
  }
}

} // namespace
} // namespace meshd::testing
