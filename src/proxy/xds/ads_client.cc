// AdsClient (ads_client.h).
#include "proxy/xds/ads_client.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <random>

#include "core/logging.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "fmt/format.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace meshd::proxy::xds {
namespace {

spdlog::logger& logger() {
  static spdlog::logger& instance = log::get("xds");
  return instance;
}

constexpr auto kInitialBackoff = std::chrono::milliseconds(500);
constexpr auto kMaxBackoff = std::chrono::seconds(30);

std::string targetOf(const boost::asio::ip::tcp::endpoint& server) {
  const std::string ip = server.address().to_string();
  return fmt::format("{}:{}", server.address().is_v6() ? "[" + ip + "]" : ip, server.port());
}

} // namespace

AdsClient::AdsClient(core::EventLoop& main, boost::asio::ip::tcp::endpoint server,
                     envoy::config::core::v3::Node node, Handler& handler, Mode mode)
    : main_(main), target_(targetOf(server)), node_(std::move(node)), handler_(handler),
      mode_(mode), alive_(std::make_shared<AdsClient*>(this)) {}

AdsClient::~AdsClient() {
  stopping_ = true;
  {
    std::lock_guard lock(mutex_);
    if (context_ != nullptr) {
      context_->TryCancel();
    }
  }
  if (thread_.joinable()) {
    thread_.join();
  }
  alive_.reset(); // tasks still queued on the main loop see it and do nothing
}

void AdsClient::start() {
  thread_ = std::thread([this] { run(); });
}

template <class StreamT, class Response, class Open, class HandleOnMain>
bool AdsClient::runStream(grpc::ClientContext& context, Open open, HandleOnMain handleOnMain,
                          StreamT*& current) {
  std::unique_ptr<StreamT> stream = open(&context);
  {
    std::lock_guard lock(mutex_);
    context_ = &context;
    current = stream.get();
    if (stopping_) {
      context.TryCancel();
    }
  }
  handleOnMain(std::optional<Response>()); // the stream started
  bool connected = false;
  Response response;
  while (stream->Read(&response)) {
    connected = true;
    handleOnMain(std::optional<Response>(std::move(response)));
    response.Clear();
  }
  {
    std::lock_guard lock(mutex_);
    context_ = nullptr;
    current = nullptr;
  }
  const grpc::Status status = stream->Finish();
  if (!stopping_) {
    MESHD_LOG(logger(), info, "ADS stream to {} ended ({}: {}); retrying", target_,
              static_cast<int>(status.error_code()), status.error_message());
  }
  return connected;
}

void AdsClient::run() {
  auto backoff = std::chrono::milliseconds(kInitialBackoff);
  std::mt19937_64 random(std::random_device{}());
  std::weak_ptr<AdsClient*> alive = alive_;
  auto onMain = [this, alive](auto task) {
    main_.post([alive, task = std::move(task)]() mutable {
      if (alive.lock()) {
        task();
      }
    });
  };
  // Posted in order: the stream's start, then (on its first response) "connected", then each
  // response.
  auto dispatcher = [this, onMain, &backoff](auto handler_method) {
    return [this, onMain, &backoff, handler_method, connected = false](auto response) mutable {
      if (!response) {
        onMain([this] { onStreamStarted(); });
        return;
      }
      if (!connected) {
        connected = true;
        backoff = kInitialBackoff;
        onMain([this] { handler_.onConnected(true); });
      }
      onMain([this, handler_method, r = std::move(*response)] { (this->*handler_method)(r); });
    };
  };
  while (!stopping_) {
    auto channel = grpc::CreateChannel(target_, grpc::InsecureChannelCredentials());
    auto stub = envoy::service::discovery::v3::AggregatedDiscoveryService::NewStub(channel);
    grpc::ClientContext context;
    const bool connected =
        mode_ == Mode::kDelta
            ? runStream<DeltaStream, DeltaDiscoveryResponse>(
                  context,
                  [&](grpc::ClientContext* c) { return stub->DeltaAggregatedResources(c); },
                  dispatcher(&AdsClient::handleDelta), deltaStream_)
            : runStream<Stream, DiscoveryResponse>(
                  context,
                  [&](grpc::ClientContext* c) { return stub->StreamAggregatedResources(c); },
                  dispatcher(&AdsClient::handle), stream_);
    if (stopping_) {
      break;
    }
    if (connected) {
      onMain([this] { handler_.onConnected(false); });
    }
    // Jittered exponential backoff: a uniform wait in [backoff/2, backoff].
    std::uniform_int_distribution<int64_t> jitter(backoff.count() / 2, backoff.count());
    const auto wait = std::chrono::milliseconds(jitter(random));
    // In short naps, so that stopping is never held up by a long backoff.
    for (auto slept = std::chrono::milliseconds(0); slept < wait && !stopping_;
         slept += std::chrono::milliseconds(50)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, kMaxBackoff);
  }
}

void AdsClient::onStreamStarted() {
  // A new stream: the node goes with its first request, and every subscription is repeated with
  // what is already held, so an unchanged config is not sent again.
  nodeSent_ = false;
  for (auto& [type, subscription] : subscriptions_) {
    subscription.lastNonce.clear();
    if (mode_ == Mode::kDelta) {
      sendDelta(subscription.delta.initialRequest());
    } else {
      send(request(type));
    }
  }
}

AdsClient::Subscription& AdsClient::subscription(const std::string& type_url) {
  return subscriptions_.try_emplace(type_url, type_url).first->second;
}

void AdsClient::subscribe(const std::string& type_url, std::set<std::string> names, bool wildcard) {
  Subscription& wanted = subscription(type_url);
  if (mode_ == Mode::kDelta) {
    if (auto change = wanted.delta.resubscribe(names, wildcard)) {
      sendDelta(std::move(*change));
    }
    return;
  }
  if (wanted.names == names && wanted.wildcard == wildcard && !wanted.lastNonce.empty()) {
    return;
  }
  wanted.names = std::move(names);
  wanted.wildcard = wildcard;
  send(request(type_url));
}

DiscoveryRequest AdsClient::request(const std::string& type_url) const {
  DiscoveryRequest out;
  out.set_type_url(type_url);
  if (const auto found = accepted_.find(type_url); found != accepted_.end()) {
    out.set_version_info(found->second);
  }
  const auto& subscription = subscriptions_.at(type_url);
  for (const auto& name : subscription.names) {
    out.add_resource_names(name);
  }
  out.set_response_nonce(subscription.lastNonce);
  return out;
}

absl::Status AdsClient::offer(const DiscoveryResponse& response) {
  const absl::Status status = handler_.onResponse(response);
  if (status.ok()) {
    accepted_[response.type_url()] = response.version_info();
    persist(response);
  } else {
    MESHD_LOG(logger(), warn, "rejected {} version {}: {}", response.type_url(),
              response.version_info(), std::string(status.message()));
  }
  return status;
}

void AdsClient::handle(const DiscoveryResponse& response) {
  const std::string& type = response.type_url();
  if (!subscriptions_.contains(type)) {
    return; // not asked for: nothing to acknowledge
  }
  subscriptions_.at(type).lastNonce = response.nonce();
  const absl::Status status = offer(response);
  DiscoveryRequest reply = request(type);
  if (!status.ok()) {
    reply.mutable_error_detail()->set_code(static_cast<int>(status.code()));
    reply.mutable_error_detail()->set_message(std::string(status.message()));
  }
  send(reply);
}

void AdsClient::handleDelta(const DeltaDiscoveryResponse& response) {
  const std::string& type = response.type_url();
  if (!subscriptions_.contains(type)) {
    return;
  }
  DeltaSubscription& state = subscriptions_.at(type).delta;
  const absl::Status status = offer(state.merged(response));
  if (status.ok()) {
    state.commit(response);
  }
  DeltaDiscoveryRequest reply;
  reply.set_type_url(type);
  reply.set_response_nonce(response.nonce());
  if (!status.ok()) {
    reply.mutable_error_detail()->set_code(static_cast<int>(status.code()));
    reply.mutable_error_detail()->set_message(std::string(status.message()));
  }
  sendDelta(std::move(reply));
}

std::string AdsClient::cacheFile(const std::string& type_url) const {
  return fmt::format("{}/{}.pb", cacheDir_, type_url.substr(type_url.rfind('.') + 1));
}

void AdsClient::persist(const DiscoveryResponse& response) const {
  if (cacheDir_.empty()) {
    return;
  }
  // Written aside, flushed, then renamed over the old file: a crash leaves one or the other.
  const std::string file = cacheFile(response.type_url());
  const std::string temporary = file + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out || !response.SerializeToOstream(&out)) {
      MESHD_LOG(logger(), warn, "cannot write the xDS cache file {}", temporary);
      return;
    }
    out.flush();
  }
  if (const int fd = ::open(temporary.c_str(), O_RDONLY); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  if (std::rename(temporary.c_str(), file.c_str()) != 0) {
    MESHD_LOG(logger(), warn, "cannot replace the xDS cache file {}", file);
  }
}

int AdsClient::replayCache(const std::vector<std::string>& order) {
  if (cacheDir_.empty()) {
    return 0;
  }
  int accepted = 0;
  for (const auto& type : order) {
    std::ifstream in(cacheFile(type), std::ios::binary);
    DiscoveryResponse response;
    if (!in || !response.ParseFromIstream(&in) || response.type_url() != type ||
        !subscriptions_.contains(type)) {
      continue;
    }
    if (handler_.onResponse(response).ok()) {
      // The delta state starts empty: the server then sends every resource once, and unchanged
      // ones leave the config as it is.
      accepted_[type] = response.version_info();
      ++accepted;
      MESHD_LOG(logger(), info, "started from the cached {} version {}", type,
                response.version_info());
    }
  }
  return accepted;
}

void AdsClient::send(const DiscoveryRequest& request) {
  DiscoveryRequest out = request;
  std::lock_guard lock(mutex_);
  if (stream_ == nullptr) {
    return; // the next stream repeats every subscription
  }
  if (!nodeSent_) {
    *out.mutable_node() = node_;
    nodeSent_ = true;
  }
  // Requests are small and few (one per response): a blocking write on the main thread is fine.
  stream_->Write(out);
}

void AdsClient::sendDelta(DeltaDiscoveryRequest request) {
  std::lock_guard lock(mutex_);
  if (deltaStream_ == nullptr) {
    return; // the next stream repeats every subscription
  }
  if (!nodeSent_) {
    *request.mutable_node() = node_;
    nodeSent_ = true;
  }
  deltaStream_->Write(request);
}

} // namespace meshd::proxy::xds
