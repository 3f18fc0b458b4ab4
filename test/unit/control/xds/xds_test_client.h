// A blocking xDS test client: one gRPC stream (SotW or delta, ADS or a per-type service) whose
// responses a background thread queues, so a test waits for the next one with a bound.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "grpcpp/client_context.h"
#include "grpcpp/support/sync_stream.h"

namespace meshd::control::xds::testing {

template <class Request, class Response>
class TestStream {
public:
  using Opener = std::function<std::unique_ptr<grpc::ClientReaderWriter<Request, Response>>(
      grpc::ClientContext*)>;

  explicit TestStream(const Opener& open) : stream_(open(&context_)) {
    reader_ = std::thread([this] {
      Response response;
      while (stream_->Read(&response)) {
        std::lock_guard lock(mutex_);
        responses_.push_back(std::move(response));
        changed_.notify_all();
      }
      std::lock_guard lock(mutex_);
      ended_ = true;
      changed_.notify_all();
    });
  }

  ~TestStream() {
    context_.TryCancel();
    reader_.join();
  }

  bool send(const Request& request) { return stream_->Write(request); }

  // The next response, or nothing if none came within `timeout` or the stream ended.
  std::optional<Response> next(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [this] { return !responses_.empty() || ended_; });
    if (responses_.empty()) {
      return std::nullopt;
    }
    Response response = std::move(responses_.front());
    responses_.pop_front();
    return response;
  }

  // Waits (bounded) for the server to end the stream and returns its status.
  grpc::Status finish(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    {
      std::unique_lock lock(mutex_);
      if (!changed_.wait_for(lock, timeout, [this] { return ended_; })) {
        return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "stream did not end");
      }
    }
    return stream_->Finish();
  }

  // Half-closes: the client will send nothing more.
  void closeWrites() { stream_->WritesDone(); }

private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<Request, Response>> stream_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Response> responses_;
  bool ended_ = false;
  std::thread reader_;
};

} // namespace meshd::control::xds::testing
