// The proxy's end of one ADS stream, state of the world or delta: a thread that keeps the gRPC
// stream to the control plane up (reconnecting with jittered exponential backoff) and reads
// responses, and the protocol state (subscriptions, accepted versions, nonces) owned by the main
// thread, which decides on every response and answers it with an ACK or a NACK carrying the
// reason. Handlers always see state-of-the-world responses: on a delta stream each response is
// merged with what the proxy holds (DeltaSubscription).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "boost/asio/ip/tcp.hpp"
#include "core/event_loop.h"
#include "envoy/config/core/v3/base.pb.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "proxy/xds/delta_subscription.h"

namespace grpc {
class ClientContext;
template <class W, class R>
class ClientReaderWriter;
} // namespace grpc

namespace meshd::proxy::xds {

using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;

class AdsClient {
public:
  enum class Mode { kStateOfTheWorld, kDelta }; // the bootstrap's api_type GRPC or DELTA_GRPC

  class Handler {
  public:
    virtual ~Handler() = default;
    // On the main thread. OK accepts the response (ACK); an error rejects it whole (NACK with
    // the message) and the previous config stays.
    virtual absl::Status onResponse(const DiscoveryResponse& response) = 0;
    virtual void onConnected(bool connected) = 0;
  };

  AdsClient(core::EventLoop& main, boost::asio::ip::tcp::endpoint server,
            envoy::config::core::v3::Node node, Handler& handler,
            Mode mode = Mode::kStateOfTheWorld);
  ~AdsClient(); // cancels the stream and joins its thread

  // Keeps every accepted response in `dir` (one file per type, replaced atomically).
  void setCacheDir(std::string dir) { cacheDir_ = std::move(dir); }
  // Main thread, before start(): replays the responses kept in the cache directory through the
  // handler, types in `order`, as if the control plane had sent them (a NACKed one is skipped).
  // Returns how many were accepted.
  int replayCache(const std::vector<std::string>& order);
  void start();
  // Main thread: the names wanted for a type (empty set with `wildcard`: everything, as CDS and
  // LDS ask). Sends the updated subscription at once when the stream is up.
  void subscribe(const std::string& type_url, std::set<std::string> names, bool wildcard = false);
  // The version last accepted per type (for /config_dump and stats).
  const std::map<std::string, std::string>& acceptedVersions() const { return accepted_; }

private:
  using Stream = grpc::ClientReaderWriter<DiscoveryRequest, DiscoveryResponse>;
  using DeltaStream = grpc::ClientReaderWriter<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
  struct Subscription {
    explicit Subscription(const std::string& type_url) : delta(type_url) {}
    std::set<std::string> names;
    bool wildcard = false;
    std::string lastNonce;
    DeltaSubscription delta; // on a delta stream
  };

  void run(); // the stream thread
  // One stream's life on the stream thread: `open` starts it, each response read is posted to
  // `handleOnMain`. Returns whether any response arrived.
  template <class StreamT, class Response, class Open, class HandleOnMain>
  bool runStream(grpc::ClientContext& context, Open open, HandleOnMain handleOnMain,
                 StreamT*& current);
  void onStreamStarted();
  Subscription& subscription(const std::string& type_url);
  void handle(const DiscoveryResponse& response);
  void handleDelta(const DeltaDiscoveryResponse& response);
  // Hands a (merged) response to the handler; records and persists it when accepted.
  absl::Status offer(const DiscoveryResponse& response);
  DiscoveryRequest request(const std::string& type_url) const;
  void send(const DiscoveryRequest& request);
  void sendDelta(DeltaDiscoveryRequest request);
  void persist(const DiscoveryResponse& response) const;
  std::string cacheFile(const std::string& type_url) const;

  core::EventLoop& main_;
  const std::string target_;
  const envoy::config::core::v3::Node node_;
  Handler& handler_;
  const Mode mode_;
  // Main-thread state.
  std::map<std::string, Subscription> subscriptions_;
  std::map<std::string, std::string> accepted_;
  bool nodeSent_ = false;
  std::string cacheDir_;
  // Shared with the stream thread.
  std::mutex mutex_;
  grpc::ClientContext* context_ = nullptr; // of the current stream, under mutex_
  Stream* stream_ = nullptr;               // under mutex_ (state of the world)
  DeltaStream* deltaStream_ = nullptr;     // under mutex_ (delta)
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  // Lifetime guard for tasks posted to the main loop after destruction began.
  std::shared_ptr<AdsClient*> alive_;
};

} // namespace meshd::proxy::xds
