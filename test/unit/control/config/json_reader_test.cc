// Tests for the shared reading helpers: durations, suggestions, host names, CIDRs, regexes and
// the MessageReader's type errors.
#include "control/config/common.h"
#include "control/config/host_names.h"
#include "control/config/json_reader.h"
#include "test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshd::control::config {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;

TEST(ParseDurationTest, ReadsGoStyleDurations) {
  EXPECT_EQ(parseDuration("1.5s"), Duration(milliseconds(1500)));
  EXPECT_EQ(parseDuration("100ms"), Duration(milliseconds(100)));
  EXPECT_EQ(parseDuration("1h"), Duration(std::chrono::hours(1)));
  EXPECT_EQ(parseDuration("1m30s"), Duration(std::chrono::seconds(90)));
  EXPECT_EQ(parseDuration("250us"), Duration(std::chrono::microseconds(250)));
  EXPECT_EQ(parseDuration("0s"), Duration(0));
  EXPECT_EQ(parseDuration("10"), std::nullopt);
  EXPECT_EQ(parseDuration("s"), std::nullopt);
  EXPECT_EQ(parseDuration("1x"), std::nullopt);
  EXPECT_EQ(parseDuration(""), std::nullopt);
  EXPECT_EQ(parseDuration("1..2s"), std::nullopt);
  EXPECT_EQ(parseDuration("300y"), std::nullopt);
  EXPECT_EQ(parseDuration("3000000h"), std::nullopt) << "does not fit in int64 nanoseconds";
}

TEST(ClosestNameTest, SuggestsOnlyPlausibleTypos) {
  const std::string_view known[] = {"route", "redirect", "rewrite", "match"};
  EXPECT_EQ(closestName("rout", known), "route");
  EXPECT_EQ(closestName("redirekt", known), "redirect");
  EXPECT_EQ(closestName("timeout", known), "");
}

TEST(HostNamesTest, ResolvesShortNamesAsIstioDoes) {
  EXPECT_EQ(resolveShortHost("reviews", "default"), "reviews.default.svc.cluster.local");
  EXPECT_EQ(resolveShortHost("reviews.prod", "default"), "reviews.prod");
  EXPECT_EQ(resolveShortHost("*", "default"), "*");
  EXPECT_EQ(resolveShortHost("*.example.com", "default"), "*.example.com");
}

TEST(HostNamesTest, MatchesWildcards) {
  EXPECT_TRUE(hostCovers("*", "a.b"));
  EXPECT_TRUE(hostCovers("*.example.com", "a.example.com"));
  EXPECT_TRUE(hostCovers("*.example.com", "a.b.example.com"));
  EXPECT_FALSE(hostCovers("*.example.com", "example.com"));
  EXPECT_TRUE(hostCovers("*.example.com", "*.a.example.com"));
  EXPECT_FALSE(hostCovers("*.a.example.com", "*.example.com"));
  EXPECT_TRUE(hostsOverlap("*.a.example.com", "*.example.com"));
  EXPECT_TRUE(hostCovers("Reviews.x", "reviews.x"));
  EXPECT_FALSE(hostCovers("a.x", "b.x"));
}

TEST(ChecksTest, HostsCidrsHeadersRegexes) {
  EXPECT_EQ(checkWildcardHost("*.example.com"), "");
  EXPECT_EQ(checkWildcardHost("reviews"), "");
  EXPECT_EQ(checkWildcardHost("a.*.com"),
            "'a.*.com' is not a valid host: a wildcard must be the whole name or its first label "
            "(\"*.example.com\")");
  EXPECT_EQ(checkWildcardHost("bad_host"),
            "'bad_host' is not a valid host name (labels of letters, digits and '-', at most 63 "
            "characters each, separated by '.')");
  EXPECT_EQ(checkCidrOrIp("10.0.0.0/8"), "");
  EXPECT_EQ(checkCidrOrIp("2001:db8::/32"), "");
  EXPECT_EQ(checkCidrOrIp("1.2.3.4"), "");
  EXPECT_EQ(checkCidrOrIp("1.2.3/8"), "'1.2.3/8' is not an IP address or CIDR block");
  EXPECT_EQ(checkCidrOrIp("1.2.3.4/x"), "'1.2.3.4/x' is not a valid CIDR block (prefix length "
                                        "0-32)");
  EXPECT_EQ(checkHeaderName("x-request-id"), "");
  EXPECT_EQ(checkHeaderName("x request"),
            "'x request' is not a valid header name (letters, digits, '-' and '_')");
  EXPECT_EQ(checkRegex("^/api/v[0-9]+$"), "");
  EXPECT_EQ(checkRegex("(a"), "'(a' is not a valid RE2 regex: missing ): (a");
  EXPECT_EQ(checkRegex("(?=x)"), "'(?=x)' is not a valid RE2 regex: invalid perl operator: (?=");
  EXPECT_EQ(checkLabelKey("app.kubernetes.io/name"), "");
  EXPECT_EQ(checkLabelValue(""), "");
}

TEST(MessageReaderTest, ReportsTypeAndRangeErrors) {
  const ConfigObject object = testing::objectFrom(R"(apiVersion: v1
kind: Namespace
metadata: {name: n}
spec:
  s: 3
  i: 1.5
  d: 500us
  p: 101
  b: "true"
)");
  std::vector<Diagnostic> out;
  ReadContext ctx(object, out);
  const MessageReader reader(ctx, object.spec(), "/spec", {"s", "i", "d", "p", "b"});
  EXPECT_EQ(reader.string("s"), std::nullopt);
  EXPECT_EQ(reader.integer("i", 0, 10), std::nullopt);
  EXPECT_EQ(reader.duration("d"), std::nullopt);
  EXPECT_EQ(reader.number("p", 0, 100), std::nullopt);
  EXPECT_EQ(reader.boolean("b"), std::nullopt);
  EXPECT_EQ(reader.string("absent"), std::nullopt);
  EXPECT_TRUE(ctx.failed());
  EXPECT_THAT(testing::strings(out),
              ElementsAre("t.yaml:5: error: Namespace n: spec.s: must be a string (got a number)",
                          "t.yaml:6: error: Namespace n: spec.i: must be a whole number (got 1.5)",
                          "t.yaml:7: error: Namespace n: spec.d: duration must be at least 1ms "
                          "(got 500us)",
                          "t.yaml:8: error: Namespace n: spec.p: must be between 0 and 100 (got "
                          "101)",
                          "t.yaml:9: error: Namespace n: spec.b: must be a boolean (got a "
                          "string)"));
}

} // namespace
} // namespace meshd::control::config
