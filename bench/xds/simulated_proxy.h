// A simulated proxy for the xDS load benchmark: one ADS state-of-the-world stream on gRPC's
// callback client API that subscribes like Envoy (clusters and listeners by wildcard, every
// cluster's endpoints and every listener's route by name) and ACKs each response at once,
// recording when it ACKed each type.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "envoy/service/discovery/v3/ads.grpc.pb.h"

namespace meshd::bench::xds {

enum XdsType { kClusters = 0, kEndpoints = 1, kListeners = 2, kRoutes = 3, kTypeCount = 4 };

// The requests every proxy sends (shared, immutable): one per type, without node or nonce.
struct SubscriptionSet {
  std::array<envoy::service::discovery::v3::DiscoveryRequest, kTypeCount> requests;
};

class SimulatedProxy final
    : public grpc::ClientBidiReactor<envoy::service::discovery::v3::DiscoveryRequest,
                                     envoy::service::discovery::v3::DiscoveryResponse> {
public:
  SimulatedProxy(std::string node_id, const SubscriptionSet& subscriptions);

  void start(envoy::service::discovery::v3::AggregatedDiscoveryService::Stub& stub);
  void cancel() { context_.TryCancel(); }

  // ACKs sent for a type so far, and when the last one went out.
  uint64_t acks(XdsType type) const { return acks_[type].load(); }
  std::chrono::steady_clock::time_point lastAck(XdsType type) const;
  bool done() const { return done_.load(); }
  bool failed() const { return failed_.load(); }

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

private:
  void enqueue(envoy::service::discovery::v3::DiscoveryRequest request);

  const std::string nodeId_;
  const SubscriptionSet& subscriptions_;
  grpc::ClientContext context_;
  envoy::service::discovery::v3::DiscoveryResponse response_;
  std::mutex mutex_;
  std::deque<envoy::service::discovery::v3::DiscoveryRequest> writes_; // front is in flight
  std::array<std::atomic<uint64_t>, kTypeCount> acks_{};
  std::array<std::atomic<int64_t>, kTypeCount> lastAckNanos_{};
  std::atomic<bool> done_{false};
  std::atomic<bool> failed_{false};
};

} // namespace meshd::bench::xds
