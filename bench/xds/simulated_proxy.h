// A simulated proxy for the xDS load benchmark: one ADS stream (state of the world or delta) on
// gRPC's callback client API that subscribes like Envoy (clusters and listeners by wildcard, every
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
#include <type_traits>

#include "envoy/service/discovery/v3/ads.grpc.pb.h"

namespace meshd::bench::xds {

enum XdsType { kClusters = 0, kEndpoints = 1, kListeners = 2, kRoutes = 3, kTypeCount = 4 };

// The first request of each type every proxy sends (shared, immutable; no node). SotW ACKs repeat
// the request with version and nonce; delta ACKs carry only the type and nonce.
struct SubscriptionSet {
  std::array<envoy::service::discovery::v3::DiscoveryRequest, kTypeCount> sotw;
  std::array<envoy::service::discovery::v3::DeltaDiscoveryRequest, kTypeCount> delta;
};

// The XdsType of a type URL, or -1.
int typeIndex(const std::string& type_url);

class ProxyStats {
public:
  virtual ~ProxyStats() = default;
  virtual void cancel() = 0;

  uint64_t acks(XdsType type) const { return acks_[type].load(); }
  std::chrono::steady_clock::time_point lastAck(XdsType type) const {
    return std::chrono::steady_clock::time_point(
        std::chrono::nanoseconds(lastAckNanos_[type].load()));
  }
  bool done() const { return done_.load(); }
  bool failed() const { return failed_.load(); }

protected:
  void recordAck(int type) {
    auto now = std::chrono::steady_clock::now().time_since_epoch();
    lastAckNanos_[static_cast<size_t>(type)].store(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
    acks_[static_cast<size_t>(type)].fetch_add(1);
  }
  std::array<std::atomic<uint64_t>, kTypeCount> acks_{};
  std::array<std::atomic<int64_t>, kTypeCount> lastAckNanos_{};
  std::atomic<bool> done_{false};
  std::atomic<bool> failed_{false};
};

template <class Request, class Response>
class SimulatedProxy final : public grpc::ClientBidiReactor<Request, Response>, public ProxyStats {
  static constexpr bool kDelta =
      std::is_same_v<Request, envoy::service::discovery::v3::DeltaDiscoveryRequest>;

public:
  SimulatedProxy(std::string node_id, const SubscriptionSet& subscriptions)
      : nodeId_(std::move(node_id)), subscriptions_(subscriptions) {}

  void start(envoy::service::discovery::v3::AggregatedDiscoveryService::Stub& stub) {
    if constexpr (kDelta) {
      stub.async()->DeltaAggregatedResources(&context_, this);
    } else {
      stub.async()->StreamAggregatedResources(&context_, this);
    }
    for (size_t type = 0; type < kTypeCount; ++type) {
      Request request = initial(type);
      if (type == 0) {
        request.mutable_node()->set_id(nodeId_);
      }
      enqueue(std::move(request));
    }
    this->StartRead(&response_);
    this->StartCall();
  }
  void cancel() override { context_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      return; // OnDone follows
    }
    int type = typeIndex(response_.type_url());
    if (type >= 0) {
      Request ack;
      if constexpr (kDelta) {
        ack.set_type_url(response_.type_url());
      } else {
        ack = initial(static_cast<size_t>(type));
        ack.set_version_info(response_.version_info());
      }
      ack.set_response_nonce(response_.nonce());
      recordAck(type);
      enqueue(std::move(ack));
    }
    this->StartRead(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      failed_ = true;
      return;
    }
    Request* next = nullptr;
    {
      std::lock_guard lock(mutex_);
      writes_.pop_front();
      if (!writes_.empty()) {
        next = &writes_.front(); // deque: references stay valid across push_back
      }
    }
    if (next != nullptr) {
      this->StartWrite(next);
    }
  }

  void OnDone(const grpc::Status& status) override {
    if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
      failed_ = true;
    }
    done_ = true;
  }

private:
  const Request& initial(size_t type) const {
    if constexpr (kDelta) {
      return subscriptions_.delta[type];
    } else {
      return subscriptions_.sotw[type];
    }
  }

  void enqueue(Request request) {
    Request* start = nullptr;
    {
      std::lock_guard lock(mutex_);
      writes_.push_back(std::move(request));
      if (writes_.size() == 1) {
        start = &writes_.front();
      }
    }
    if (start != nullptr) {
      this->StartWrite(start);
    }
  }

  const std::string nodeId_;
  const SubscriptionSet& subscriptions_;
  grpc::ClientContext context_;
  Response response_;
  std::mutex mutex_;
  std::deque<Request> writes_; // the front is in flight
};

using SotwProxy = SimulatedProxy<envoy::service::discovery::v3::DiscoveryRequest,
                                 envoy::service::discovery::v3::DiscoveryResponse>;
using DeltaProxy = SimulatedProxy<envoy::service::discovery::v3::DeltaDiscoveryRequest,
                                  envoy::service::discovery::v3::DeltaDiscoveryResponse>;

} // namespace meshd::bench::xds
