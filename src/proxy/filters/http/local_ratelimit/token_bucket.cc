// TokenBucket (token_bucket.h).
#include "proxy/filters/http/local_ratelimit/token_bucket.h"

#include <algorithm>

namespace meshd::proxy::filters {

TokenBucket::TokenBucket(uint32_t max_tokens, uint32_t tokens_per_fill,
                         std::chrono::milliseconds fill_interval, const core::TimeSource& time)
    : maxTokens_(max_tokens), tokensPerFill_(tokens_per_fill), fillInterval_(fill_interval),
      time_(time), start_(time.monotonicNow()), tokens_(max_tokens) {}

void TokenBucket::refill() {
  const auto elapsed = time_.monotonicNow() - start_;
  const auto due = static_cast<uint64_t>(elapsed / fillInterval_);
  uint64_t done = fills_.load(std::memory_order_acquire);
  // One thread claims the fills due; the others see them claimed and go on.
  while (done < due) {
    if (fills_.compare_exchange_weak(done, due, std::memory_order_acq_rel)) {
      const uint64_t added = std::min<uint64_t>((due - done) * tokensPerFill_, maxTokens_);
      uint32_t current = tokens_.load(std::memory_order_relaxed);
      uint32_t next = 0;
      do {
        next = static_cast<uint32_t>(std::min<uint64_t>(current + added, maxTokens_));
      } while (!tokens_.compare_exchange_weak(current, next, std::memory_order_relaxed));
      return;
    }
  }
}

bool TokenBucket::tryConsume() {
  refill();
  uint32_t current = tokens_.load(std::memory_order_relaxed);
  while (current > 0) {
    if (tokens_.compare_exchange_weak(current, current - 1, std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

uint32_t TokenBucket::remaining() {
  refill();
  return tokens_.load(std::memory_order_relaxed);
}

std::chrono::milliseconds TokenBucket::untilNextFill() const {
  const auto elapsed = time_.monotonicNow() - start_;
  const auto intoInterval = elapsed % fillInterval_;
  return std::chrono::ceil<std::chrono::milliseconds>(fillInterval_ - intoInterval);
}

} // namespace meshd::proxy::filters
