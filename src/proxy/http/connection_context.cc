// ConnectionContext (connection_context.h).
#include "proxy/http/connection_context.h"

namespace meshd::proxy::http {

ConnectionContext::ConnectionContext(WorkerContext worker_context,
                                     std::shared_ptr<const server::Runtime> rt,
                                     const config::ListenerConfig& listener_config,
                                     const config::FilterChainConfig& chain)
    : worker(worker_context), runtime(std::move(rt)), listener(listener_config),
      config(*chain.http), stats(runtime->chainStats.at(&chain)) {}

filters::TokenBucket* ConnectionContext::connectionBucket(
    const std::shared_ptr<const filters::LocalRateLimitConfig>& limit) {
  auto& entry = buckets_[limit.get()];
  if (!entry.first) {
    entry = {limit, limit->newBucket()};
  }
  return entry.second.get();
}

bool ConnectionContext::listenerOutdated() const {
  const auto& latest = worker.runtimes.onWorker();
  if (latest == runtime) {
    return false;
  }
  const config::ListenerConfig* current = latest->listener(listener.name);
  return current == nullptr || current->version != listener.version;
}

} // namespace meshd::proxy::http
