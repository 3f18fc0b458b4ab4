// Unit tests for RouteTable: virtual host selection, every match kind, and what build() rejects.
#include "proxy/router/route_table.h"

#include "core/yaml_json.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace meshd::proxy::router {
namespace {

envoy::config::route::v3::RouteConfiguration parse(const std::string& yaml) {
  envoy::config::route::v3::RouteConfiguration config;
  auto json = core::yamlToJson(yaml);
  EXPECT_TRUE(json.ok());
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(*json, &config).ok()) << *json;
  return config;
}

std::shared_ptr<const RouteTable> build(const std::string& yaml) {
  auto table = RouteTable::build(parse(yaml), "route_config");
  EXPECT_TRUE(table.ok()) << table.status();
  return table.ok() ? *table : nullptr;
}

http::HeaderMap request(std::string_view authority, std::string_view path,
                        std::vector<std::pair<std::string, std::string>> extra = {}) {
  http::HeaderMap headers;
  headers.add(":method", "GET");
  headers.add(":path", path);
  headers.add(":authority", authority);
  for (const auto& [name, value] : extra) {
    headers.add(name, value);
  }
  return headers;
}

// The name of the route that matches, or "" for none.
std::string routeName(const RouteTable& table, const http::HeaderMap& headers) {
  const Route* route = table.findRoute(headers, nullptr);
  return route == nullptr ? "" : route->name;
}

TEST(RouteTableTest, VirtualHostPrecedence) {
  auto table = build(R"(
virtual_hosts:
- { name: any, domains: ["*"], routes: [{ name: any, match: { prefix: / }, route: { cluster: c } }] }
- { name: exact, domains: ["api.example.com"], routes: [{ name: exact, match: { prefix: / }, route: { cluster: c } }] }
- { name: suffix, domains: ["*.example.com"], routes: [{ name: suffix, match: { prefix: / }, route: { cluster: c } }] }
- { name: longsuffix, domains: ["*.eu.example.com"], routes: [{ name: longsuffix, match: { prefix: / }, route: { cluster: c } }] }
- { name: prefix, domains: ["example.*"], routes: [{ name: prefix, match: { prefix: / }, route: { cluster: c } }] }
- { name: port, domains: ["reviews:9080"], routes: [{ name: port, match: { prefix: / }, route: { cluster: c } }] }
)");
  EXPECT_EQ(routeName(*table, request("api.example.com", "/")), "exact");
  EXPECT_EQ(routeName(*table, request("API.Example.com", "/")), "exact");
  EXPECT_EQ(routeName(*table, request("www.example.com", "/")), "suffix");
  EXPECT_EQ(routeName(*table, request("a.eu.example.com", "/")), "longsuffix");
  EXPECT_EQ(routeName(*table, request("example.org", "/")), "prefix");
  EXPECT_EQ(routeName(*table, request("example.com", "/")), "prefix"); // not *.example.com
  EXPECT_EQ(routeName(*table, request("reviews:9080", "/")), "port");
  EXPECT_EQ(routeName(*table, request("reviews", "/")), "any");
  EXPECT_EQ(routeName(*table, request("other", "/")), "any");
}

TEST(RouteTableTest, PathMatchKindsAndOrder) {
  auto table = build(R"(
virtual_hosts:
- name: all
  domains: ["*"]
  routes:
  - { name: exact, match: { path: /exact }, route: { cluster: c } }
  - { name: regex, match: { safe_regex: { regex: "/items/[0-9]+" } }, route: { cluster: c } }
  - { name: separated, match: { path_separated_prefix: /api }, route: { cluster: c } }
  - { name: nocase, match: { prefix: /CaSe, case_sensitive: false }, route: { cluster: c } }
  - { name: prefix, match: { prefix: /p }, route: { cluster: c } }
)");
  EXPECT_EQ(routeName(*table, request("h", "/exact")), "exact");
  EXPECT_EQ(routeName(*table, request("h", "/exact?x=1")), "exact"); // query ignored
  EXPECT_EQ(routeName(*table, request("h", "/exactly")), "");
  EXPECT_EQ(routeName(*table, request("h", "/items/42")), "regex");
  EXPECT_EQ(routeName(*table, request("h", "/items/42x")), ""); // full match only
  EXPECT_EQ(routeName(*table, request("h", "/api")), "separated");
  EXPECT_EQ(routeName(*table, request("h", "/api/v1")), "separated");
  EXPECT_EQ(routeName(*table, request("h", "/api?q")), "separated");
  EXPECT_EQ(routeName(*table, request("h", "/apiv1")), "");
  EXPECT_EQ(routeName(*table, request("h", "/case/x")), "nocase");
  EXPECT_EQ(routeName(*table, request("h", "/page")), "prefix");
}

TEST(RouteTableTest, HeaderMatchers) {
  auto table = build(R"(
virtual_hosts:
- name: all
  domains: ["*"]
  routes:
  - { name: exact, match: { prefix: /, headers: [{ name: end-user, string_match: { exact: jason } }] }, route: { cluster: c } }
  - { name: prefix, match: { prefix: /, headers: [{ name: x-p, string_match: { prefix: ab } }] }, route: { cluster: c } }
  - { name: suffix, match: { prefix: /, headers: [{ name: x-s, string_match: { suffix: yz } }] }, route: { cluster: c } }
  - { name: contains, match: { prefix: /, headers: [{ name: x-c, string_match: { contains: mid } }] }, route: { cluster: c } }
  - { name: regex, match: { prefix: /, headers: [{ name: x-r, string_match: { safe_regex: { regex: "v[0-9]" } } }] }, route: { cluster: c } }
  - { name: icase, match: { prefix: /, headers: [{ name: x-i, string_match: { exact: MiXeD, ignore_case: true } }] }, route: { cluster: c } }
  - { name: present, match: { prefix: /, headers: [{ name: x-present, present_match: true }] }, route: { cluster: c } }
  - { name: range, match: { prefix: /, headers: [{ name: x-n, range_match: { start: 10, end: 20 } }] }, route: { cluster: c } }
  - { name: inverted, match: { prefix: /, headers: [{ name: x-inv, string_match: { exact: "no" }, invert_match: true }] }, route: { cluster: c } }
  - { name: method, match: { prefix: /, headers: [{ name: ":method", string_match: { exact: POST } }] }, route: { cluster: c } }
  - { name: legacy, match: { prefix: /, headers: [{ name: x-legacy, exact_match: old }] }, route: { cluster: c } }
  - { name: inverted-or-missing, match: { prefix: /, headers: [{ name: x-inv2, string_match: { exact: "no" }, invert_match: true, treat_missing_header_as_empty: true }] }, route: { cluster: c } }
)");
  EXPECT_EQ(routeName(*table, request("h", "/", {{"end-user", "jason"}})), "exact");
  EXPECT_EQ(routeName(*table, request("h", "/", {{"x-p", "abc"}})), "prefix");
  EXPECT_EQ(routeName(*table, request("h", "/", {{"x-s", "xyz"}})), "suffix");
  EXPECT_EQ(routeName(*table, request("h", "/", {{"x-c", "amidb"}})), "contains");
  EXPECT_EQ(routeName(*table, request("h", "/", {{"x-r", "v2"}})), "regex");
  EXPECT_EQ(routeName(*table, request("h", "/", {{"x-i", "mixed"}})), "icase");
  EXPECT_EQ(routeName(*table, request("h", "/", {{"x-present", ""}})), "present");
  EXPECT_EQ(routeName(*table, request("h", "/", {{"x-n", "15"}})), "range");
  // The range's end is exclusive; an absent header fails an inverted string match (Envoy), but
  // matches one that treats it as empty.
  EXPECT_EQ(routeName(*table, request("h", "/", {{"x-n", "20"}})), "inverted-or-missing");
  EXPECT_EQ(routeName(*table, request("h", "/", {{"x-inv", "yes"}})), "inverted");
  EXPECT_EQ(routeName(*table, request("h", "/", {{"x-inv", "no"}})), "inverted-or-missing");
  EXPECT_EQ(routeName(*table, request("h", "/", {{"x-inv", "no"}, {"x-inv2", "no"}})), "");
  EXPECT_EQ(routeName(*table, request("h", "/", {{"x-legacy", "old"}, {"x-inv", "no"}})), "legacy");
  http::HeaderMap post = request("h", "/", {{"x-inv", "no"}});
  post.set(":method", "POST");
  EXPECT_EQ(routeName(*table, post), "method");
}

TEST(RouteTableTest, QueryParameterMatchers) {
  auto table = build(R"(
virtual_hosts:
- name: all
  domains: ["*"]
  routes:
  - { name: value, match: { prefix: /, query_parameters: [{ name: v, string_match: { exact: "2" } }] }, route: { cluster: c } }
  - { name: present, match: { prefix: /, query_parameters: [{ name: debug, present_match: true }] }, route: { cluster: c } }
)");
  EXPECT_EQ(routeName(*table, request("h", "/x?a=1&v=2")), "value");
  EXPECT_EQ(routeName(*table, request("h", "/x?v=3&debug")), "present");
  EXPECT_EQ(routeName(*table, request("h", "/x?v=3")), "");
  EXPECT_EQ(routeName(*table, request("h", "/x")), "");
}

TEST(RouteTableTest, ActionsAreCompiled) {
  auto table = build(R"(
virtual_hosts:
- name: all
  domains: ["*"]
  routes:
  - name: weighted
    match: { prefix: /w }
    route: { weighted_clusters: { clusters: [{ name: a, weight: 80 }, { name: b, weight: 20 }] }, timeout: 2.5s, prefix_rewrite: /new }
  - name: redirect
    match: { prefix: /r }
    redirect: { https_redirect: true, host_redirect: example.com, response_code: PERMANENT_REDIRECT }
  - name: direct
    match: { prefix: /d }
    direct_response: { status: 418, body: { inline_string: teapot } }
)");
  const Route* weighted = table->findRoute(request("h", "/w"), nullptr);
  ASSERT_NE(weighted, nullptr);
  EXPECT_EQ(weighted->route.totalWeight, 100u);
  EXPECT_EQ(weighted->route.timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(weighted->route.prefixRewrite, "/new");
  const Route* redirect = table->findRoute(request("h", "/r"), nullptr);
  ASSERT_NE(redirect, nullptr);
  EXPECT_EQ(redirect->redirect.status, 308);
  EXPECT_EQ(redirect->redirect.scheme, "https");
  const Route* direct = table->findRoute(request("h", "/d"), nullptr);
  ASSERT_NE(direct, nullptr);
  EXPECT_EQ(direct->directResponse.status, 418);
  EXPECT_EQ(direct->directResponse.body, "teapot");
}

TEST(HeaderMutationTest, AppendActionsAndRemoval) {
  auto table = build(R"(
virtual_hosts:
- name: all
  domains: ["*"]
  routes:
  - match: { prefix: / }
    route: { cluster: c }
    request_headers_to_add:
    - { header: { key: X-Append, value: "2" } }
    - { header: { key: x-overwrite, value: new }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }
    - { header: { key: x-absent, value: added }, append_action: ADD_IF_ABSENT }
    - { header: { key: x-present, value: kept-not }, append_action: ADD_IF_ABSENT }
    - { header: { key: x-only-if, value: set }, append_action: OVERWRITE_IF_EXISTS }
    - { header: { key: x-legacy, value: replaced }, append: false }
    request_headers_to_remove: [x-secret]
)");
  const Route* route = table->findRoute(request("h", "/"), nullptr);
  ASSERT_NE(route, nullptr);
  http::HeaderMap headers = request("h", "/",
                                    {{"x-append", "1"},
                                     {"x-overwrite", "old"},
                                     {"x-present", "kept"},
                                     {"x-legacy", "old"},
                                     {"x-secret", "s"}});
  route->requestHeaders.apply(headers);
  EXPECT_EQ(headers.getJoined("x-append"), "1,2");
  EXPECT_EQ(headers.get("x-overwrite"), "new");
  EXPECT_EQ(headers.get("x-absent"), "added");
  EXPECT_EQ(headers.get("x-present"), "kept");
  EXPECT_FALSE(headers.has("x-only-if"));
  EXPECT_EQ(headers.get("x-legacy"), "replaced");
  EXPECT_FALSE(headers.has("x-secret"));
}

struct BadConfig {
  const char* name;
  const char* yaml;
  const char* error;
};

class RouteTableErrorsTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(RouteTableErrorsTest, RejectedWithFieldPath) {
  auto table = RouteTable::build(parse(GetParam().yaml), "route_config");
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(std::string(table.status().message()), GetParam().error);
}

void PrintTo(const BadConfig& c, std::ostream* os) {
  *os << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RouteTableErrorsTest,
    ::testing::Values(
        BadConfig{
            "BadRegex",
            R"(virtual_hosts: [{ name: v, domains: ["*"], routes: [{ match: { safe_regex: { regex: "(" } }, route: { cluster: c } }] }])",
            "route_config.virtual_hosts[0].routes[0].match.safe_regex.regex: invalid regex "
            "'(': missing ): ("},
        BadConfig{
            "NoDomains", R"(virtual_hosts: [{ name: v, routes: [] }])",
            "route_config.virtual_hosts[0].domains: a virtual host needs at least one domain"},
        BadConfig{"DuplicateDomain",
                  R"(virtual_hosts: [{ name: a, domains: ["x"] }, { name: b, domains: ["X"] }])",
                  "route_config.virtual_hosts[1].domains: domain 'X' is already used by another "
                  "virtual host"},
        BadConfig{
            "ZeroWeights",
            R"(virtual_hosts: [{ name: v, domains: ["*"], routes: [{ match: { prefix: / }, route: { weighted_clusters: { clusters: [{ name: a, weight: 0 }] } } }] }])",
            "route_config.virtual_hosts[0].routes[0].route.weighted_clusters: the weights "
            "sum to zero"},
        BadConfig{
            "NoAction",
            R"(virtual_hosts: [{ name: v, domains: ["*"], routes: [{ match: { prefix: / } }] }])",
            "route_config.virtual_hosts[0].routes[0]: a route needs route, redirect or "
            "direct_response"},
        BadConfig{
            "BadSeparatedPrefix",
            R"(virtual_hosts: [{ name: v, domains: ["*"], routes: [{ match: { path_separated_prefix: /a/ }, route: { cluster: c } }] }])",
            "route_config.virtual_hosts[0].routes[0].match.path_separated_prefix: must start "
            "with '/' and not end with '/'"},
        BadConfig{
            "DirectResponseStatus",
            R"(virtual_hosts: [{ name: v, domains: ["*"], routes: [{ match: { prefix: / }, direct_response: { status: 99 } }] }])",
            "route_config.virtual_hosts[0].routes[0].direct_response.status: 99 is not in "
            "200-599"}),
    [](const ::testing::TestParamInfo<BadConfig>& param_info) { return param_info.param.name; });

} // namespace
} // namespace meshd::proxy::router
