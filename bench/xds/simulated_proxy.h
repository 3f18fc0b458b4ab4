// A simulated proxy for the xDS load benchmark: one ADS stream (state of the world or delta) on
// gRPC's callback client API that subscribes like Envoy (clusters and listeners by wildcard, every
// cluster's endpoints and every listener's route by name) and ACKs each response at once,
// recording when it ACKed each type.
//
// A SotW ACK repeats the whole subscription (1,000 endpoint names for a sidecar). To keep the
// simulator cheap, so that the benchmark measures the server, SotW requests are sent as bytes:
// the subscription serialized once, with version_info and response_nonce appended (protobuf
// merges a message's concatenated encodings).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"

namespace meshd::bench::xds {

enum XdsType { kClusters = 0, kEndpoints = 1, kListeners = 2, kRoutes = 3, kTypeCount = 4 };

// The first request of each type every proxy sends (shared, immutable; no node).
struct SubscriptionSet {
  std::array<envoy::service::discovery::v3::DiscoveryRequest, kTypeCount> sotw;
  std::array<std::string, kTypeCount> sotwBytes; // sotw[i] serialized
  std::array<envoy::service::discovery::v3::DeltaDiscoveryRequest, kTypeCount> delta;
};

// One HTTP/2 connection's stubs.
struct Connection {
  std::unique_ptr<envoy::service::discovery::v3::AggregatedDiscoveryService::Stub> typed;
  std::unique_ptr<grpc::TemplatedGenericStub<grpc::ByteBuffer,
                                             envoy::service::discovery::v3::DiscoveryResponse>>
      raw;
};

// The XdsType of a type URL, or -1.
int typeIndex(const std::string& type_url);

// What the benchmark reads from a proxy, whatever its protocol.
class ProxyStats {
public:
  virtual ~ProxyStats() = default;
  virtual void start(Connection& connection) = 0;
  virtual void cancel() = 0;

  uint64_t acks(XdsType type) const { return acks_[type].load(); }
  std::chrono::steady_clock::time_point lastAck(XdsType type) const {
    return std::chrono::steady_clock::time_point(
        std::chrono::nanoseconds(lastAckNanos_[type].load()));
  }
  bool done() const { return done_.load(); }
  bool failed() const { return failed_.load(); }

protected:
  void recordAck(int type);
  std::array<std::atomic<uint64_t>, kTypeCount> acks_{};
  std::array<std::atomic<int64_t>, kTypeCount> lastAckNanos_{};
  std::atomic<bool> done_{false};
  std::atomic<bool> failed_{false};
};

// The stream plumbing both protocols share: a write queue with one write in flight.
template <class Request, class Response>
class ProxyStream : public grpc::ClientBidiReactor<Request, Response>, public ProxyStats {
public:
  void cancel() override { context_.TryCancel(); }

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

protected:
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

  grpc::ClientContext context_;
  Response response_;

private:
  std::mutex mutex_;
  std::deque<Request> writes_; // the front is in flight
};

class SotwProxy final
    : public ProxyStream<grpc::ByteBuffer, envoy::service::discovery::v3::DiscoveryResponse> {
public:
  SotwProxy(std::string node_id, const SubscriptionSet& subscriptions)
      : nodeId_(std::move(node_id)), subscriptions_(subscriptions) {}
  void start(Connection& connection) override;
  void OnReadDone(bool ok) override;

private:
  const std::string nodeId_;
  const SubscriptionSet& subscriptions_;
};

class DeltaProxy final : public ProxyStream<envoy::service::discovery::v3::DeltaDiscoveryRequest,
                                            envoy::service::discovery::v3::DeltaDiscoveryResponse> {
public:
  DeltaProxy(std::string node_id, const SubscriptionSet& subscriptions)
      : nodeId_(std::move(node_id)), subscriptions_(subscriptions) {}
  void start(Connection& connection) override;
  void OnReadDone(bool ok) override;

private:
  const std::string nodeId_;
  const SubscriptionSet& subscriptions_;
};

} // namespace meshd::bench::xds
