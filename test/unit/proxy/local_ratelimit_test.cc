// Tests for the local rate limit on simulated time: the token bucket (starts full, refills by
// tokens_per_fill each fill_interval up to max_tokens, shared by threads without losing or
// duplicating tokens) and the filter's decision (enabled/enforced shares, stats, headers).
#include <thread>

#include "envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.pb.h"
#include "proxy/filters/http/local_ratelimit/local_ratelimit_config.h"
#include "proxy/filters/http/local_ratelimit/token_bucket.h"
#include "test/support/simulated_time.h"
#include "gtest/gtest.h"

namespace meshd::proxy::filters {
namespace {

using namespace std::chrono_literals;

int drain(TokenBucket& bucket) {
  int taken = 0;
  while (bucket.tryConsume()) {
    ++taken;
  }
  return taken;
}

TEST(TokenBucketTest, StartsFullAndRefillsEachInterval) {
  testing::SimulatedTime time;
  TokenBucket bucket(5, 2, 1000ms, time);
  EXPECT_EQ(drain(bucket), 5);
  time.advance(999ms);
  EXPECT_FALSE(bucket.tryConsume());
  EXPECT_EQ(bucket.untilNextFill(), 1ms);
  time.advance(1ms);
  EXPECT_EQ(drain(bucket), 2) << "tokens_per_fill";
  time.advance(10s);
  EXPECT_EQ(bucket.remaining(), 5u) << "capped at max_tokens";
  EXPECT_EQ(bucket.untilNextFill(), 1000ms);
}

TEST(TokenBucketTest, ThreadsShareTheTokensExactly) {
  testing::SimulatedTime time;
  TokenBucket bucket(1000, 1, 1000ms, time);
  std::atomic<int> taken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        taken += bucket.tryConsume() ? 1 : 0;
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(taken.load(), 1000);
}

class LocalRateLimitTest : public ::testing::Test {
protected:
  std::shared_ptr<const LocalRateLimitConfig> build(uint32_t enabled, uint32_t enforced,
                                                    bool headers) {
    envoy::extensions::filters::http::local_ratelimit::v3::LocalRateLimit proto;
    proto.set_stat_prefix("limit");
    proto.mutable_token_bucket()->set_max_tokens(2);
    proto.mutable_token_bucket()->mutable_fill_interval()->set_seconds(2);
    auto percent = [](envoy::config::core::v3::RuntimeFractionalPercent* out, uint32_t value) {
      out->mutable_default_value()->set_numerator(value);
      out->mutable_default_value()->set_denominator(envoy::type::v3::FractionalPercent::HUNDRED);
    };
    percent(proto.mutable_filter_enabled(), enabled);
    percent(proto.mutable_filter_enforced(), enforced);
    if (headers) {
      proto.set_enable_x_ratelimit_headers(
          envoy::extensions::common::ratelimit::v3::DRAFT_VERSION_03);
    }
    google::protobuf::Any any;
    any.PackFrom(proto);
    auto config = buildLocalRateLimitConfig(any, "f", false, time_);
    EXPECT_TRUE(config.ok()) << config.status();
    (*config)->bindStats(store_);
    return *config;
  }
  uint64_t stat(const std::string& name) {
    return store_.counter("limit.http_local_rate_limit." + name).value();
  }

  testing::SimulatedTime time_;
  stats::Store store_;
  core::DefaultRandomGenerator random_{3};
};

TEST_F(LocalRateLimitTest, EnforcedLimitCountsAndAddsHeaders) {
  const auto config = build(100, 100, true);
  auto first = decideLocalRateLimit(*config, config->sharedBucket.get(), random_);
  EXPECT_FALSE(first.limited);
  ASSERT_EQ(first.responseHeaders.size(), 3u);
  EXPECT_EQ(first.responseHeaders[0].second, "2"); // x-ratelimit-limit
  EXPECT_EQ(first.responseHeaders[1].second, "1"); // x-ratelimit-remaining
  EXPECT_EQ(first.responseHeaders[2].second, "2"); // x-ratelimit-reset (seconds)
  EXPECT_FALSE(decideLocalRateLimit(*config, config->sharedBucket.get(), random_).limited);
  const auto third = decideLocalRateLimit(*config, config->sharedBucket.get(), random_);
  EXPECT_TRUE(third.limited);
  EXPECT_EQ(third.responseHeaders[1].second, "0");
  EXPECT_EQ(stat("enabled"), 3u);
  EXPECT_EQ(stat("ok"), 2u);
  EXPECT_EQ(stat("rate_limited"), 1u);
  EXPECT_EQ(stat("enforced"), 1u);
  time_.advance(2s);
  EXPECT_FALSE(decideLocalRateLimit(*config, config->sharedBucket.get(), random_).limited);
}

TEST_F(LocalRateLimitTest, NotEnforcedOnlyCountsAndDisabledDoesNothing) {
  const auto shadow = build(100, 0, false);
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(decideLocalRateLimit(*shadow, shadow->sharedBucket.get(), random_).limited);
  }
  EXPECT_EQ(stat("rate_limited"), 2u);
  EXPECT_EQ(stat("enforced"), 0u);
  const auto disabled = build(0, 100, true);
  const auto decision = decideLocalRateLimit(*disabled, disabled->sharedBucket.get(), random_);
  EXPECT_FALSE(decision.limited);
  EXPECT_TRUE(decision.responseHeaders.empty());
  EXPECT_EQ(disabled->sharedBucket->remaining(), 2u) << "a disabled filter takes no token";
}

TEST_F(LocalRateLimitTest, PerRouteConfigNeedsABucketAndStatusBelow400Is429) {
  envoy::extensions::filters::http::local_ratelimit::v3::LocalRateLimit proto;
  proto.set_stat_prefix("r");
  proto.mutable_status()->set_code(envoy::type::v3::OK);
  google::protobuf::Any any;
  any.PackFrom(proto);
  EXPECT_FALSE(buildLocalRateLimitConfig(any, "route", true, time_).ok());
  auto chainConfig = buildLocalRateLimitConfig(any, "chain", false, time_);
  ASSERT_TRUE(chainConfig.ok());
  EXPECT_EQ((*chainConfig)->status, 429u);
  EXPECT_EQ((*chainConfig)->sharedBucket, nullptr);
  proto.mutable_token_bucket()->set_max_tokens(1);
  proto.mutable_token_bucket()->mutable_fill_interval()->set_nanos(10 * 1000 * 1000);
  any.PackFrom(proto);
  EXPECT_FALSE(buildLocalRateLimitConfig(any, "route", true, time_).ok())
      << "fill_interval under 50ms";
}

} // namespace
} // namespace meshd::proxy::filters
