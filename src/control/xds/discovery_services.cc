// ADS and the per-type discovery services (see discovery_services.h).
#include "control/xds/discovery_services.h"

#include <string>

#include "control/xds/stream_reactor.h"
#include "control/xds/type_urls.h"
#include "envoy/service/cluster/v3/cds.grpc.pb.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "envoy/service/endpoint/v3/eds.grpc.pb.h"
#include "envoy/service/listener/v3/lds.grpc.pb.h"
#include "envoy/service/route/v3/rds.grpc.pb.h"
#include "envoy/service/secret/v3/sds.grpc.pb.h"

namespace meshd::control::xds {
namespace {

using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;
using SotwReactor = grpc::ServerBidiReactor<DiscoveryRequest, DiscoveryResponse>;
using DeltaReactor = grpc::ServerBidiReactor<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

class AggregatedService final
    : public envoy::service::discovery::v3::AggregatedDiscoveryService::CallbackService {
public:
  explicit AggregatedService(StreamHost& host) : host_(host) {}
  SotwReactor* StreamAggregatedResources(grpc::CallbackServerContext*) override {
    return SotwStreamReactor::start(host_, "");
  }
  DeltaReactor* DeltaAggregatedResources(grpc::CallbackServerContext*) override {
    return DeltaStreamReactor::start(host_, "");
  }

private:
  StreamHost& host_;
};

class ListenerService final
    : public envoy::service::listener::v3::ListenerDiscoveryService::CallbackService {
public:
  explicit ListenerService(StreamHost& host) : host_(host) {}
  SotwReactor* StreamListeners(grpc::CallbackServerContext*) override {
    return SotwStreamReactor::start(host_, std::string(kListenerType));
  }
  DeltaReactor* DeltaListeners(grpc::CallbackServerContext*) override {
    return DeltaStreamReactor::start(host_, std::string(kListenerType));
  }

private:
  StreamHost& host_;
};

class RouteService final
    : public envoy::service::route::v3::RouteDiscoveryService::CallbackService {
public:
  explicit RouteService(StreamHost& host) : host_(host) {}
  SotwReactor* StreamRoutes(grpc::CallbackServerContext*) override {
    return SotwStreamReactor::start(host_, std::string(kRouteConfigurationType));
  }
  DeltaReactor* DeltaRoutes(grpc::CallbackServerContext*) override {
    return DeltaStreamReactor::start(host_, std::string(kRouteConfigurationType));
  }

private:
  StreamHost& host_;
};

class ClusterService final
    : public envoy::service::cluster::v3::ClusterDiscoveryService::CallbackService {
public:
  explicit ClusterService(StreamHost& host) : host_(host) {}
  SotwReactor* StreamClusters(grpc::CallbackServerContext*) override {
    return SotwStreamReactor::start(host_, std::string(kClusterType));
  }
  DeltaReactor* DeltaClusters(grpc::CallbackServerContext*) override {
    return DeltaStreamReactor::start(host_, std::string(kClusterType));
  }

private:
  StreamHost& host_;
};

class EndpointService final
    : public envoy::service::endpoint::v3::EndpointDiscoveryService::CallbackService {
public:
  explicit EndpointService(StreamHost& host) : host_(host) {}
  SotwReactor* StreamEndpoints(grpc::CallbackServerContext*) override {
    return SotwStreamReactor::start(host_, std::string(kClusterLoadAssignmentType));
  }
  DeltaReactor* DeltaEndpoints(grpc::CallbackServerContext*) override {
    return DeltaStreamReactor::start(host_, std::string(kClusterLoadAssignmentType));
  }

private:
  StreamHost& host_;
};

class SecretService final
    : public envoy::service::secret::v3::SecretDiscoveryService::CallbackService {
public:
  explicit SecretService(StreamHost& host) : host_(host) {}
  SotwReactor* StreamSecrets(grpc::CallbackServerContext*) override {
    return SotwStreamReactor::start(host_, std::string(kSecretType));
  }
  DeltaReactor* DeltaSecrets(grpc::CallbackServerContext*) override {
    return DeltaStreamReactor::start(host_, std::string(kSecretType));
  }

private:
  StreamHost& host_;
};

} // namespace

std::vector<std::unique_ptr<grpc::Service>> makeDiscoveryServices(StreamHost& host) {
  std::vector<std::unique_ptr<grpc::Service>> services;
  services.push_back(std::make_unique<AggregatedService>(host));
  services.push_back(std::make_unique<ListenerService>(host));
  services.push_back(std::make_unique<RouteService>(host));
  services.push_back(std::make_unique<ClusterService>(host));
  services.push_back(std::make_unique<EndpointService>(host));
  services.push_back(std::make_unique<SecretService>(host));
  return services;
}

} // namespace meshd::control::xds
