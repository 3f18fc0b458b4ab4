// Subscription rules: legacy and explicit wildcard, explicit names, unsubscribe, delta changes.
#include "control/xds/subscription.h"

#include "gtest/gtest.h"

namespace meshd::control::xds {
namespace {

NameList list(std::initializer_list<const char*> names) {
  NameList result;
  for (const char* name : names) {
    result.Add(name);
  }
  return result;
}

TEST(SubscriptionTest, EmptyFirstListIsWildcardOnlyForWildcardCapableTypes) {
  Subscription clusters(true);
  EXPECT_TRUE(clusters.applySotw(list({})));
  EXPECT_TRUE(clusters.wildcard());
  EXPECT_FALSE(clusters.applySotw(list({}))) << "an ACK repeating the empty list";
  EXPECT_TRUE(clusters.wildcard());

  Subscription endpoints(false);
  EXPECT_FALSE(endpoints.applySotw(list({})));
  EXPECT_TRUE(endpoints.empty());
}

TEST(SubscriptionTest, NamesReplaceTheWildcardAndEmptyThenMeansNothing) {
  Subscription listeners(true);
  listeners.applySotw(list({}));
  EXPECT_TRUE(listeners.applySotw(list({"a", "b"})));
  EXPECT_FALSE(listeners.wildcard());
  EXPECT_TRUE(listeners.wants("a"));
  EXPECT_FALSE(listeners.wants("c"));
  EXPECT_TRUE(listeners.applySotw(list({})));
  EXPECT_TRUE(listeners.empty());
}

TEST(SubscriptionTest, RepeatedAndReorderedListsAreCompared) {
  Subscription endpoints(false);
  EXPECT_TRUE(endpoints.applySotw(list({"a", "b"})));
  EXPECT_FALSE(endpoints.applySotw(list({"a", "b"})));
  EXPECT_FALSE(endpoints.applySotw(list({"b", "a"})));
  EXPECT_TRUE(endpoints.applySotw(list({"a", "a"})));
  EXPECT_EQ(endpoints.sortedNames(), std::vector<std::string>{"a"});
  EXPECT_TRUE(endpoints.applySotw(list({"a", "c"})));
  EXPECT_EQ(endpoints.sortedNames(), (std::vector<std::string>{"a", "c"}));
}

TEST(SubscriptionTest, StarIsAnExplicitWildcard) {
  Subscription endpoints(false);
  EXPECT_TRUE(endpoints.applySotw(list({"*", "x"})));
  EXPECT_TRUE(endpoints.wildcard());
  EXPECT_EQ(endpoints.sortedNames(), std::vector<std::string>{"x"});
  EXPECT_TRUE(endpoints.applySotw(list({"x"})));
  EXPECT_FALSE(endpoints.wildcard());
}

TEST(SubscriptionTest, DeltaAddsAndRemoves) {
  Subscription endpoints(false);
  EXPECT_FALSE(endpoints.applyDelta(list({}), list({})));
  EXPECT_TRUE(endpoints.empty());
  EXPECT_TRUE(endpoints.applyDelta(list({"a", "b"}), list({})));
  EXPECT_FALSE(endpoints.applyDelta(list({"a"}), list({})));
  EXPECT_TRUE(endpoints.applyDelta(list({}), list({"a"})));
  EXPECT_EQ(endpoints.sortedNames(), std::vector<std::string>{"b"});
}

TEST(SubscriptionTest, DeltaWildcard) {
  Subscription clusters(true);
  EXPECT_TRUE(clusters.applyDelta(list({}), list({})));
  EXPECT_TRUE(clusters.wildcard());
  EXPECT_TRUE(clusters.applyDelta(list({"a"}), list({"*"})));
  EXPECT_FALSE(clusters.wildcard());
  EXPECT_TRUE(clusters.applyDelta(list({"*"}), list({})));
  EXPECT_TRUE(clusters.wildcard());
  EXPECT_TRUE(clusters.wants("anything"));
}

} // namespace
} // namespace meshd::control::xds
