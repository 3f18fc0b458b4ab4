// StreamReactor: one xDS stream (SotW or delta) on gRPC's callback API. Reads run on gRPC threads,
// refreshes on push threads; both change StreamState under the stream's mutex, and the mutex is
// never held across a gRPC call. At most one write is in flight: while it is, new snapshots and
// requests only mark types dirty, and the next response is computed when the write completes, so
// several pushes coalesce into one response per type.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <type_traits>

#include "control/xds/stream_host.h"
#include "control/xds/stream_state.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "grpcpp/support/server_callback.h"

namespace meshd::control::xds {

template <class Request, class Response>
class StreamReactor final : public grpc::ServerBidiReactor<Request, Response>,
                            public XdsStream,
                            public std::enable_shared_from_this<StreamReactor<Request, Response>> {
  static constexpr bool kDelta =
      std::is_same_v<Request, envoy::service::discovery::v3::DeltaDiscoveryRequest>;

public:
  // `fixed_type_url`: the type of a per-type service, empty for ADS.
  static grpc::ServerBidiReactor<Request, Response>* start(StreamHost& host,
                                                           std::string fixed_type_url) {
    auto reactor = std::make_shared<StreamReactor>(host, std::move(fixed_type_url));
    reactor->self_ = reactor;
    reactor->StartRead(&reactor->request_);
    return reactor.get();
  }

  StreamReactor(StreamHost& host, std::string fixed_type_url)
      : host_(host), fixedTypeUrl_(std::move(fixed_type_url)),
        state_(host.newStreamId(), kDelta, host.timeSource()) {}

  void OnReadDone(bool ok) override {
    if (!ok) {
      close(grpc::Status::OK); // the client closed its side or went away
      return;
    }
    bool register_now = false;
    {
      std::lock_guard lock(mutex_);
      if (!registered_) {
        state_.takeNode(request_.node());
        nodeId_ = state_.node().id();
        registered_ = true;
        register_now = true;
      }
    }
    if (register_now) {
      host_.streamStarted(state_.id(), nodeId_, this->shared_from_this());
    }
    absl::StatusOr<RequestOutcome> outcome;
    {
      std::lock_guard lock(mutex_);
      if (state_.snapshot() == nullptr) {
        // Fetched under the stream lock, like refresh(): whichever runs last sees the newest.
        state_.setSnapshot(host_.snapshotFor(state_.node()));
      }
      if constexpr (kDelta) {
        outcome = state_.onDeltaRequest(request_, fixedTypeUrl_);
      } else {
        outcome = state_.onSotwRequest(request_, fixedTypeUrl_);
      }
    }
    if (!outcome.ok()) {
      close(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         std::string(outcome.status().message())));
      return;
    }
    host_.requestRead(state_.id(), nodeId_, *outcome);
    if constexpr (kDelta) {
      // A delta subscribe can name thousands of resources and later requests are small: free
      // the names now rather than keep them for reuse. (SotW requests repeat the whole list,
      // so reusing the parsed strings saves allocations there.)
      Request().Swap(&request_);
    }
    this->StartRead(&request_);
    sendNext();
  }

  void OnWriteDone(bool ok) override {
    bool finish_now = false;
    {
      std::lock_guard lock(mutex_);
      writing_ = false;
      Response().Swap(&response_); // frees the bodies now rather than at the next write
      if (!ok && !finishing_) {
        finishing_ = true;
        finishStatus_ = grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed");
      }
      finish_now = finishing_ && !finishCalled_;
      finishCalled_ = finishCalled_ || finish_now;
    }
    if (finish_now) {
      this->Finish(finishStatus_);
      return;
    }
    host_.responseWritten();
    sendNext();
  }

  void OnDone() override {
    if (registered_) {
      host_.streamEnded(state_.id());
    }
    self_.reset(); // may destroy this: nothing after it
  }

  void refresh(core::MonotonicTime changed_at) override {
    {
      std::lock_guard lock(mutex_);
      if (finishing_ || !registered_) {
        return;
      }
      state_.setSnapshot(host_.snapshotFor(state_.node()), changed_at);
    }
    sendNext();
  }

  StreamInfo debugInfo() const override {
    std::lock_guard lock(mutex_);
    return state_.debugInfo();
  }

  void close(const grpc::Status& status) override {
    {
      std::lock_guard lock(mutex_);
      if (finishing_) {
        return;
      }
      finishing_ = true;
      finishStatus_ = status;
      if (writing_) {
        return; // OnWriteDone finishes
      }
      finishCalled_ = true;
    }
    this->Finish(status);
  }

private:
  // Starts the next write if none is in flight and some type has something to send.
  void sendNext() {
    {
      std::lock_guard lock(mutex_);
      if (writing_ || finishing_) {
        return;
      }
      bool have_response;
      if constexpr (kDelta) {
        have_response = state_.nextDeltaResponse(&response_);
      } else {
        have_response = state_.nextSotwResponse(&response_);
      }
      if (!have_response) {
        return;
      }
      writing_ = true;
    }
    // response_ is not touched again until OnWriteDone.
    this->StartWrite(&response_);
  }

  StreamHost& host_;
  const std::string fixedTypeUrl_;
  std::shared_ptr<StreamReactor> self_; // keeps the reactor alive until OnDone
  Request request_;                     // the read in flight (only the gRPC read path uses it)

  mutable std::mutex mutex_;
  StreamState state_;
  Response response_; // the write in flight
  std::string nodeId_;
  bool registered_ = false;
  bool writing_ = false;
  bool finishing_ = false;
  bool finishCalled_ = false;
  grpc::Status finishStatus_;
};

using SotwStreamReactor = StreamReactor<envoy::service::discovery::v3::DiscoveryRequest,
                                        envoy::service::discovery::v3::DiscoveryResponse>;
using DeltaStreamReactor = StreamReactor<envoy::service::discovery::v3::DeltaDiscoveryRequest,
                                         envoy::service::discovery::v3::DeltaDiscoveryResponse>;

} // namespace meshd::control::xds
