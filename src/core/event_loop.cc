// EventLoop (event_loop.h) and its Asio-backed timer.
#include "core/event_loop.h"

#include <utility>

#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "core/assert.h"

namespace meshd::core {
namespace {

class AsioTimer final : public Timer {
public:
  AsioTimer(boost::asio::io_context& context, TimerCallback callback)
      : timer_(context), callback_(std::move(callback)) {}
  ~AsioTimer() override {
    *alive_ = false;
    disable();
  }

  void enable(std::chrono::nanoseconds delay) override {
    disable();
    timer_.expires_after(delay);
    const uint64_t generation = ++generation_;
    armed_ = true;
    timer_.async_wait([this, generation, alive = alive_](const boost::system::error_code& error) {
      // A cancelled or superseded wait can still complete with success if it was already queued;
      // the generation check drops it, and `alive` guards against a destroyed timer.
      if (error || !*alive || generation != generation_) {
        return;
      }
      armed_ = false;
      callback_();
    });
  }

  void disable() override {
    if (armed_) {
      armed_ = false;
      ++generation_;
      timer_.cancel();
    }
  }

  bool enabled() const override { return armed_; }

private:
  boost::asio::steady_timer timer_;
  TimerCallback callback_;
  // Handlers hold a copy; the destructor flips it, for a wait that had already completed.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  uint64_t generation_ = 0;
  bool armed_ = false;
};

} // namespace

EventLoop::EventLoop(std::string name) : name_(std::move(name)), context_(1) {}

EventLoop::~EventLoop() {
  clearDeferredDeletions();
}

void EventLoop::run() {
  loopThread_.store(std::this_thread::get_id());
  auto guard = boost::asio::make_work_guard(context_);
  context_.run();
  clearDeferredDeletions();
  loopThread_.store(std::thread::id());
}

void EventLoop::runUntilIdle() {
  loopThread_.store(std::this_thread::get_id());
  context_.restart();
  context_.poll();
  clearDeferredDeletions();
  loopThread_.store(std::thread::id());
}

void EventLoop::stop() {
  context_.stop();
}

void EventLoop::post(std::function<void()> callback) {
  boost::asio::post(context_, std::move(callback));
}

std::unique_ptr<Timer> EventLoop::createTimer(TimerCallback callback) {
  return std::make_unique<AsioTimer>(context_, std::move(callback));
}

void EventLoop::deferredDelete(std::unique_ptr<DeferredDeletable> object) {
  MESHD_ASSERT(loopThread_.load() == std::thread::id() || isLoopThread(),
               "deferredDelete called off the loop thread");
  toDelete_.push_back(std::move(object));
  if (!cleanupPosted_) {
    cleanupPosted_ = true;
    boost::asio::post(context_, [this] { clearDeferredDeletions(); });
  }
}

void EventLoop::clearDeferredDeletions() {
  cleanupPosted_ = false;
  // Destructors may defer more deletions; keep going until none are left.
  while (!toDelete_.empty()) {
    std::vector<std::unique_ptr<DeferredDeletable>> batch;
    batch.swap(toDelete_);
    batch.clear();
  }
}

} // namespace meshd::core
