// The Bookinfo samples in samples/bookinfo/networking parse into the typed model with the values
// Istio's tasks rely on.
#include <fstream>
#include <sstream>

#include "control/config/networking/destination_rule.h"
#include "control/config/networking/gateway.h"
#include "control/config/networking/virtual_service.h"
#include "control/config/object_parser.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshd::control::config {
namespace {

using ::testing::ElementsAre;

std::vector<ConfigObject> sample(const std::string& name) {
  const std::string path = std::string(MESHD_SOURCE_DIR) + "/samples/bookinfo/networking/" + name;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream text;
  text << in.rdbuf();
  ParseResult result = parseObjects(text.str(), name, "bookinfo");
  EXPECT_TRUE(result.diagnostics.empty())
      << (result.diagnostics.empty() ? "" : result.diagnostics[0].toString());
  return result.objects;
}

template <class Parse>
auto parseAll(const std::vector<ConfigObject>& objects, Parse parse) {
  std::vector<typename decltype(parse(objects[0],
                                      std::declval<std::vector<Diagnostic>&>()))::value_type>
      out;
  for (const ConfigObject& object : objects) {
    std::vector<Diagnostic> diagnostics;
    auto value = parse(object, diagnostics);
    EXPECT_TRUE(diagnostics.empty()) << diagnostics[0].toString();
    if (value) {
      out.push_back(std::move(*value));
    }
  }
  return out;
}

TEST(BookinfoSamplesTest, DestinationRuleAll) {
  const auto rules = parseAll(sample("destination-rule-all.yaml"), parseDestinationRule);
  ASSERT_EQ(rules.size(), 4u);
  EXPECT_EQ(rules[1].meta.ns, "bookinfo");
  EXPECT_EQ(rules[1].host, "reviews");
  ASSERT_EQ(rules[1].subsets.size(), 3u);
  EXPECT_EQ(rules[1].subsets[2].name, "v3");
  EXPECT_EQ(rules[1].subsets[2].labels, (Labels{{"version", "v3"}}));
  EXPECT_EQ(rules[2].subsets[3].name, "v2-mysql-vm");
}

TEST(BookinfoSamplesTest, VirtualServiceAllV1) {
  const auto services = parseAll(sample("virtual-service-all-v1.yaml"), parseVirtualService);
  ASSERT_EQ(services.size(), 4u);
  for (const VirtualService& vs : services) {
    ASSERT_EQ(vs.http.size(), 1u);
    ASSERT_EQ(vs.http[0].route.size(), 1u);
    EXPECT_EQ(vs.http[0].route[0].destination.host, vs.hosts[0]);
    EXPECT_EQ(vs.http[0].route[0].destination.subset, "v1");
    EXPECT_TRUE(vs.http[0].match.empty());
    EXPECT_TRUE(vs.appliesToMesh());
  }
}

TEST(BookinfoSamplesTest, ReviewsFiftyFifty) {
  const auto services = parseAll(sample("virtual-service-reviews-v2-v3.yaml"), parseVirtualService);
  ASSERT_EQ(services.size(), 1u);
  const auto& route = services[0].http[0].route;
  ASSERT_EQ(route.size(), 2u);
  EXPECT_EQ(route[0].destination.subset, "v2");
  EXPECT_EQ(route[0].weight, 50);
  EXPECT_EQ(route[1].destination.subset, "v3");
  EXPECT_EQ(route[1].weight, 50);
}

TEST(BookinfoSamplesTest, JasonHeaderMatch) {
  const auto services =
      parseAll(sample("virtual-service-reviews-test-v2.yaml"), parseVirtualService);
  ASSERT_EQ(services.size(), 1u);
  const VirtualService& vs = services[0];
  ASSERT_EQ(vs.http.size(), 2u);
  ASSERT_EQ(vs.http[0].match.size(), 1u);
  const StringMatch& user = vs.http[0].match[0].headers.at("end-user");
  EXPECT_EQ(user.kind, StringMatch::Kind::kExact);
  EXPECT_EQ(user.value, "jason");
  EXPECT_EQ(vs.http[0].route[0].destination.subset, "v2");
  EXPECT_FALSE(matchesEveryRequest(vs.http[0].match[0]));
  EXPECT_EQ(vs.http[1].route[0].destination.subset, "v1");
}

TEST(BookinfoSamplesTest, RatingsDelayAndAbort) {
  const auto delay =
      parseAll(sample("virtual-service-ratings-test-delay.yaml"), parseVirtualService);
  ASSERT_EQ(delay.size(), 1u);
  ASSERT_TRUE(delay[0].http[0].fault && delay[0].http[0].fault->delay);
  EXPECT_EQ(delay[0].http[0].fault->delay->fixedDelay, std::chrono::seconds(7));
  EXPECT_EQ(delay[0].http[0].fault->delay->percentage, 100.0);
  EXPECT_FALSE(delay[0].http[0].fault->abort);

  const auto abort =
      parseAll(sample("virtual-service-ratings-test-abort.yaml"), parseVirtualService);
  ASSERT_EQ(abort.size(), 1u);
  ASSERT_TRUE(abort[0].http[0].fault && abort[0].http[0].fault->abort);
  EXPECT_EQ(std::get<uint32_t>(abort[0].http[0].fault->abort->error), 500u);
  EXPECT_EQ(abort[0].http[0].fault->abort->percentage, 100.0);
}

TEST(BookinfoSamplesTest, Gateway) {
  const std::vector<ConfigObject> objects = sample("bookinfo-gateway.yaml");
  ASSERT_EQ(objects.size(), 2u);
  std::vector<Diagnostic> diagnostics;
  const std::optional<Gateway> gateway = parseGateway(objects[0], diagnostics);
  const std::optional<VirtualService> vs = parseVirtualService(objects[1], diagnostics);
  ASSERT_TRUE(diagnostics.empty()) << diagnostics[0].toString();
  ASSERT_TRUE(gateway && vs);
  EXPECT_EQ(gateway->selector, (Labels{{"istio", "ingressgateway"}}));
  ASSERT_EQ(gateway->servers.size(), 1u);
  EXPECT_EQ(gateway->servers[0].port.number, 8080u);
  EXPECT_EQ(gateway->servers[0].port.protocol, Protocol::kHttp);
  EXPECT_THAT(gateway->servers[0].hosts, ElementsAre("*"));
  EXPECT_THAT(vs->gateways, ElementsAre("bookinfo-gateway"));
  EXPECT_FALSE(vs->appliesToMesh());
  ASSERT_EQ(vs->http[0].match.size(), 5u);
  EXPECT_EQ(vs->http[0].match[1].uri->kind, StringMatch::Kind::kPrefix);
  EXPECT_EQ(vs->http[0].match[1].uri->value, "/static");
  EXPECT_EQ(vs->http[0].route[0].destination.port, 9080u);
}

} // namespace
} // namespace meshd::control::config
