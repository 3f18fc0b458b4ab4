// A simulated ADS client for the xDS load benchmark (see simulated_proxy.h).
#include "bench/xds/simulated_proxy.h"

#include "control/xds/type_urls.h"

namespace meshd::bench::xds {
namespace {

using envoy::service::discovery::v3::DiscoveryRequest;

int typeIndex(const std::string& type_url) {
  using namespace meshd::control::xds;
  if (type_url == kClusterType)
    return kClusters;
  if (type_url == kClusterLoadAssignmentType)
    return kEndpoints;
  if (type_url == kListenerType)
    return kListeners;
  if (type_url == kRouteConfigurationType)
    return kRoutes;
  return -1;
}

} // namespace

SimulatedProxy::SimulatedProxy(std::string node_id, const SubscriptionSet& subscriptions)
    : nodeId_(std::move(node_id)), subscriptions_(subscriptions) {}

void SimulatedProxy::start(envoy::service::discovery::v3::AggregatedDiscoveryService::Stub& stub) {
  stub.async()->StreamAggregatedResources(&context_, this);
  for (int type = 0; type < kTypeCount; ++type) {
    DiscoveryRequest request = subscriptions_.requests[static_cast<size_t>(type)];
    if (type == 0) {
      request.mutable_node()->set_id(nodeId_);
    }
    enqueue(std::move(request));
  }
  StartRead(&response_);
  StartCall();
}

std::chrono::steady_clock::time_point SimulatedProxy::lastAck(XdsType type) const {
  return std::chrono::steady_clock::time_point(
      std::chrono::nanoseconds(lastAckNanos_[type].load()));
}

void SimulatedProxy::enqueue(DiscoveryRequest request) {
  bool start_write;
  {
    std::lock_guard lock(mutex_);
    writes_.push_back(std::move(request));
    start_write = writes_.size() == 1;
  }
  if (start_write) {
    StartWrite(&writes_.front());
  }
}

void SimulatedProxy::OnReadDone(bool ok) {
  if (!ok) {
    return; // OnDone follows
  }
  int type = typeIndex(response_.type_url());
  if (type >= 0) {
    DiscoveryRequest ack = subscriptions_.requests[static_cast<size_t>(type)];
    ack.set_version_info(response_.version_info());
    ack.set_response_nonce(response_.nonce());
    auto now = std::chrono::steady_clock::now().time_since_epoch();
    lastAckNanos_[static_cast<size_t>(type)].store(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
    acks_[static_cast<size_t>(type)].fetch_add(1);
    enqueue(std::move(ack));
  }
  StartRead(&response_);
}

void SimulatedProxy::OnWriteDone(bool ok) {
  if (!ok) {
    failed_ = true;
    return;
  }
  DiscoveryRequest* next = nullptr;
  {
    std::lock_guard lock(mutex_);
    writes_.pop_front();
    if (!writes_.empty()) {
      next = &writes_.front();
    }
  }
  if (next != nullptr) {
    StartWrite(next);
  }
}

void SimulatedProxy::OnDone(const grpc::Status& status) {
  if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
    failed_ = true;
  }
  done_ = true;
}

} // namespace meshd::bench::xds
