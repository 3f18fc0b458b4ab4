// Building and applying the local rate limit config (local_ratelimit_config.h).
#include "proxy/filters/http/local_ratelimit/local_ratelimit_config.h"

#include "core/status.h"
#include "envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.pb.h"
#include "fmt/format.h"
#include "proxy/config/conversions.h"

namespace meshd::proxy::filters {

void LocalRateLimitConfig::bindStats(stats::Store& store) const {
  if (counters) {
    return;
  }
  auto counter = [&](const char* name, const char* help) {
    return store.counter(fmt::format("{}.http_local_rate_limit.{}", statPrefix, name), {}, help);
  };
  counters = std::make_shared<const LocalRateLimitStats>(LocalRateLimitStats{
      counter("enabled", "Requests the local rate limit was enabled for"),
      counter("enforced", "Requests answered with the rate limit status"),
      counter("rate_limited", "Requests that found no token"),
      counter("ok", "Requests that found a token"),
  });
}

std::unique_ptr<TokenBucket> LocalRateLimitConfig::newBucket() const {
  if (!bucket) {
    return nullptr;
  }
  return std::make_unique<TokenBucket>(bucket->maxTokens, bucket->tokensPerFill,
                                       bucket->fillInterval, core::RealTimeSource::instance());
}

absl::StatusOr<std::shared_ptr<const LocalRateLimitConfig>>
buildLocalRateLimitConfig(const google::protobuf::Any& any, const std::string& where,
                          bool per_route, const core::TimeSource& time) {
  envoy::extensions::filters::http::local_ratelimit::v3::LocalRateLimit proto;
  if (!any.UnpackTo(&proto)) {
    return config::invalid(where, "needs an envoy.extensions.filters.http.local_ratelimit.v3."
                                  "LocalRateLimit");
  }
  auto out = std::make_shared<LocalRateLimitConfig>();
  if (proto.stat_prefix().empty()) {
    return config::invalid(where + ".stat_prefix", "is required");
  }
  out->statPrefix = proto.stat_prefix();
  // Envoy: a status under 400 is replaced by 429.
  if (proto.has_status() && proto.status().code() >= 400) {
    out->status = static_cast<uint32_t>(proto.status().code());
  }
  if (proto.has_token_bucket()) {
    const auto& bucket = proto.token_bucket();
    LocalRateLimitConfig::Bucket parsed;
    if (bucket.max_tokens() == 0) {
      return config::invalid(where + ".token_bucket.max_tokens", "must be at least 1");
    }
    parsed.maxTokens = bucket.max_tokens();
    if (bucket.has_tokens_per_fill()) {
      parsed.tokensPerFill = bucket.tokens_per_fill().value();
      if (parsed.tokensPerFill == 0) {
        return config::invalid(where + ".token_bucket.tokens_per_fill", "must be at least 1");
      }
    }
    parsed.fillInterval = config::toMillis(bucket.fill_interval());
    if (parsed.fillInterval.count() < 50) {
      return config::invalid(where + ".token_bucket.fill_interval", "must be at least 50ms");
    }
    out->bucket = parsed;
  } else if (per_route) {
    return config::invalid(where + ".token_bucket", "a per-route config needs a token_bucket");
  }
  if (proto.has_filter_enabled()) {
    out->enabledPerMillion = config::perMillion(proto.filter_enabled().default_value());
  }
  if (proto.has_filter_enforced()) {
    out->enforcedPerMillion = config::perMillion(proto.filter_enforced().default_value());
  }
  for (int i = 0; i < proto.response_headers_to_add_size(); ++i) {
    const auto& header = proto.response_headers_to_add(i).header();
    if (header.key().empty()) {
      return config::invalid(fmt::format("{}.response_headers_to_add[{}].header.key", where, i),
                             "is required");
    }
    out->responseHeadersToAdd.emplace_back(header.key(), header.value());
  }
  out->rateLimitHeaders = proto.enable_x_ratelimit_headers() ==
                          envoy::extensions::common::ratelimit::v3::DRAFT_VERSION_03;
  out->perConnection = proto.local_rate_limit_per_downstream_connection();
  if (out->bucket && !out->perConnection) {
    out->sharedBucket = std::make_shared<TokenBucket>(
        out->bucket->maxTokens, out->bucket->tokensPerFill, out->bucket->fillInterval, time);
  }
  return std::shared_ptr<const LocalRateLimitConfig>(std::move(out));
}

LocalRateLimitDecision decideLocalRateLimit(const LocalRateLimitConfig& config, TokenBucket* bucket,
                                            core::RandomGenerator& random) {
  LocalRateLimitDecision decision;
  const LocalRateLimitStats* counted = config.counters.get();
  if (config.enabledPerMillion == 0 ||
      random.uniform(LocalRateLimitConfig::kMillion) >= config.enabledPerMillion) {
    return decision;
  }
  if (counted != nullptr) {
    counted->enabled.inc();
  }
  if (bucket == nullptr) {
    if (counted != nullptr) {
      counted->ok.inc();
    }
    return decision;
  }
  const bool allowed = bucket->tryConsume();
  if (config.rateLimitHeaders) {
    const auto reset = std::chrono::ceil<std::chrono::seconds>(bucket->untilNextFill());
    decision.responseHeaders = {
        {"x-ratelimit-limit", std::to_string(bucket->maxTokens())},
        {"x-ratelimit-remaining", std::to_string(bucket->remaining())},
        {"x-ratelimit-reset", std::to_string(reset.count())},
    };
  }
  if (allowed) {
    if (counted != nullptr) {
      counted->ok.inc();
    }
    return decision;
  }
  if (counted != nullptr) {
    counted->rateLimited.inc();
  }
  if (config.enforcedPerMillion == 0 ||
      random.uniform(LocalRateLimitConfig::kMillion) >= config.enforcedPerMillion) {
    return decision; // limited but not enforced: the request goes on
  }
  if (counted != nullptr) {
    counted->enforced.inc();
  }
  decision.limited = true;
  return decision;
}

} // namespace meshd::proxy::filters
