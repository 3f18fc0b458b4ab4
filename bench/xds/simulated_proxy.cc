// Simulated ADS clients for the xDS load benchmark (see simulated_proxy.h).
#include "bench/xds/simulated_proxy.h"

#include "control/xds/type_urls.h"

namespace meshd::bench::xds {
namespace {

using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryRequest;

constexpr char kSotwMethod[] =
    "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";

// Appends a length-delimited protobuf field (wire type 2) to `out`.
void appendStringField(std::string& out, uint32_t field, const std::string& value) {
  auto append_varint = [&out](uint64_t number) {
    while (number >= 0x80) {
      out.push_back(static_cast<char>((number & 0x7f) | 0x80));
      number >>= 7;
    }
    out.push_back(static_cast<char>(number));
  };
  append_varint((uint64_t{field} << 3) | 2);
  append_varint(value.size());
  out.append(value);
}

grpc::ByteBuffer bytes(const std::string& data) {
  grpc::Slice slice(data);
  return grpc::ByteBuffer(&slice, 1);
}

} // namespace

int typeIndex(const std::string& type_url) {
  using namespace meshd::control::xds;
  if (type_url == kClusterType) {
    return kClusters;
  }
  if (type_url == kClusterLoadAssignmentType) {
    return kEndpoints;
  }
  if (type_url == kListenerType) {
    return kListeners;
  }
  if (type_url == kRouteConfigurationType) {
    return kRoutes;
  }
  return -1;
}

void ProxyStats::recordAck(int type) {
  auto now = std::chrono::steady_clock::now().time_since_epoch();
  lastAckNanos_[static_cast<size_t>(type)].store(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
  acks_[static_cast<size_t>(type)].fetch_add(1);
}

void SotwProxy::start(Connection& connection) {
  connection.raw->PrepareBidiStreamingCall(&context_, kSotwMethod, grpc::StubOptions(), this);
  for (size_t type = 0; type < kTypeCount; ++type) {
    std::string data = subscriptions_.sotwBytes[type];
    if (type == 0) {
      DiscoveryRequest node_only;
      node_only.mutable_node()->set_id(nodeId_);
      data += node_only.SerializeAsString();
    }
    enqueue(bytes(data));
  }
  StartRead(&response_);
  StartCall();
}

void SotwProxy::OnReadDone(bool ok) {
  if (!ok) {
    return; // OnDone follows
  }
  int type = typeIndex(response_.type_url());
  if (type >= 0) {
    // DiscoveryRequest: version_info = 1, response_nonce = 5.
    std::string ack = subscriptions_.sotwBytes[static_cast<size_t>(type)];
    appendStringField(ack, 1, response_.version_info());
    appendStringField(ack, 5, response_.nonce());
    recordAck(type);
    enqueue(bytes(ack));
  }
  StartRead(&response_);
}

void DeltaProxy::start(Connection& connection) {
  connection.typed->async()->DeltaAggregatedResources(&context_, this);
  for (size_t type = 0; type < kTypeCount; ++type) {
    DeltaDiscoveryRequest request = subscriptions_.delta[type];
    if (type == 0) {
      request.mutable_node()->set_id(nodeId_);
    }
    enqueue(std::move(request));
  }
  StartRead(&response_);
  StartCall();
}

void DeltaProxy::OnReadDone(bool ok) {
  if (!ok) {
    return; // OnDone follows
  }
  int type = typeIndex(response_.type_url());
  if (type >= 0) {
    DeltaDiscoveryRequest ack;
    ack.set_type_url(response_.type_url());
    ack.set_response_nonce(response_.nonce());
    recordAck(type);
    enqueue(std::move(ack));
  }
  StartRead(&response_);
}

} // namespace meshd::bench::xds
