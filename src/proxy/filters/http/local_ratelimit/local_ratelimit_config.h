// envoy.filters.http.local_ratelimit (Envoy's LocalRateLimit): a token bucket in front of the
// router; a request that finds no token gets a local reply (429 by default, flag RL). The
// connection manager's filter gives the default; a virtual host's or route's
// typed_per_filter_config replaces it (with its own bucket). The bucket is shared by all workers,
// or, with local_rate_limit_per_downstream_connection, one per client connection.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/random.h"
#include "core/stats/store.h"
#include "core/time_source.h"
#include "google/protobuf/any.pb.h"
#include "proxy/filters/http/local_ratelimit/token_bucket.h"

namespace meshd::proxy::filters {

inline constexpr const char* kLocalRateLimitFilterName = "envoy.filters.http.local_ratelimit";

struct LocalRateLimitStats {
  stats::Counter enabled;     // requests the filter was enabled for
  stats::Counter enforced;    // rate limited requests answered with the limit status
  stats::Counter rateLimited; // requests that found no token (enforced or not)
  stats::Counter ok;          // requests that found a token
};

struct LocalRateLimitConfig {
  static constexpr uint32_t kMillion = 1000000;
  std::string statPrefix;
  uint32_t status = 429;
  // token_bucket; absent (allowed on the connection manager's filter): nothing is limited.
  struct Bucket {
    uint32_t maxTokens = 0;
    uint32_t tokensPerFill = 1;
    std::chrono::milliseconds fillInterval{0};
  };
  std::optional<Bucket> bucket;
  uint32_t enabledPerMillion = 0;  // filter_enabled (Envoy's default: 0%)
  uint32_t enforcedPerMillion = 0; // filter_enforced (0%)
  std::vector<std::pair<std::string, std::string>> responseHeadersToAdd;
  bool rateLimitHeaders = false; // enable_x_ratelimit_headers: DRAFT_VERSION_03
  bool perConnection = false;    // local_rate_limit_per_downstream_connection

  // The bucket shared by all workers (null with perConnection or without token_bucket).
  std::shared_ptr<TokenBucket> sharedBucket;
  // Set once by the runtime that first uses this config, before workers see it.
  mutable std::shared_ptr<const LocalRateLimitStats> counters;

  // Creates the stats (stat_prefix.http_local_rate_limit.*) unless already done (main thread).
  void bindStats(stats::Store& store) const;
  std::unique_ptr<TokenBucket> newBucket() const;
};

// From an Any that must hold a LocalRateLimit (whose fields the caller checked). `per_route`:
// the config of a virtual host or route, which must have a token_bucket.
absl::StatusOr<std::shared_ptr<const LocalRateLimitConfig>>
buildLocalRateLimitConfig(const google::protobuf::Any& any, const std::string& where,
                          bool per_route,
                          const core::TimeSource& time = core::RealTimeSource::instance());

// What the filter decided for one request.
struct LocalRateLimitDecision {
  bool limited = false; // answer with config.status
  // x-ratelimit-* headers for the response (enable_x_ratelimit_headers), empty otherwise.
  std::vector<std::pair<std::string, std::string>> responseHeaders;
};

// Takes a token from `bucket` (the shared one, or the connection's) for a request, counting
// stats; filter_enabled and filter_enforced are drawn from `random`.
LocalRateLimitDecision decideLocalRateLimit(const LocalRateLimitConfig& config, TokenBucket* bucket,
                                            core::RandomGenerator& random);

} // namespace meshd::proxy::filters
