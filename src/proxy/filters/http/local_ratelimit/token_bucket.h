// The token bucket of Envoy's local rate limit: starts full with max_tokens; every fill_interval
// adds tokens_per_fill, up to max_tokens; each request takes one. Refills are computed from the
// clock when the bucket is used (no timer), and tokens are taken with compare-and-swap, so one
// bucket is shared by every worker without a lock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "core/time_source.h"

namespace meshd::proxy::filters {

class TokenBucket {
public:
  TokenBucket(uint32_t max_tokens, uint32_t tokens_per_fill,
              std::chrono::milliseconds fill_interval, const core::TimeSource& time);

  // Takes a token if there is one.
  bool tryConsume();
  // Tokens left now (after refills due).
  uint32_t remaining();
  // Time until the next refill.
  std::chrono::milliseconds untilNextFill() const;
  uint32_t maxTokens() const { return maxTokens_; }

private:
  void refill();

  const uint32_t maxTokens_;
  const uint32_t tokensPerFill_;
  const std::chrono::milliseconds fillInterval_;
  const core::TimeSource& time_;
  const core::MonotonicTime start_;
  std::atomic<uint32_t> tokens_;
  std::atomic<uint64_t> fills_{0}; // fill intervals accounted for since start_
};

} // namespace meshd::proxy::filters
