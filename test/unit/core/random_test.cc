// Unit tests for the random sources.
#include "core/random.h"

#include <regex>
#include <set>

#include "gtest/gtest.h"

namespace meshd::core {
namespace {

TEST(RandomTest, SameSeedSameSequence) {
  DefaultRandomGenerator a(42);
  DefaultRandomGenerator b(42);
  DefaultRandomGenerator c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    differs |= x != c.next();
  }
  EXPECT_TRUE(differs);
}

TEST(RandomTest, UniformStaysInRangeAndCoversIt) {
  DefaultRandomGenerator random(7);
  std::vector<int> counts(10);
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) {
    const uint64_t value = random.uniform(10);
    ASSERT_LT(value, 10u);
    ++counts[value];
  }
  // Each bucket expects 10,000; 5 standard deviations (≈ 475) is a very generous tolerance.
  for (int count : counts) {
    EXPECT_NEAR(count, kDraws / 10, 500);
  }
  EXPECT_EQ(random.uniform(1), 0u);
}

TEST(RandomTest, UuidIsVersion4AndUnique) {
  DefaultRandomGenerator random(1);
  const std::regex format("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = random.uuid();
    ASSERT_TRUE(std::regex_match(id, format)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(RandomTest, ThreadGeneratorsAreSeededDifferently) {
  uint64_t other = 0;
  std::thread([&] { other = DefaultRandomGenerator::forThisThread().next(); }).join();
  EXPECT_NE(DefaultRandomGenerator::forThisThread().next(), other);
}

} // namespace
} // namespace meshd::core
