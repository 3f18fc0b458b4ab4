// EventLoop: one Boost.Asio io_context driven by one thread (concurrency hint 1), with the few
// services every thread of the proxy and the control plane needs: cross-thread posting, timers,
// and deferred deletion (destroying an object at the end of the current callback, so a callback
// can safely drop the object that is calling it).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "boost/asio/io_context.hpp"
#include "core/timer.h"

namespace meshd::core {

// Objects handed to deferredDelete() derive from this.
class DeferredDeletable {
public:
  virtual ~DeferredDeletable() = default;
};

class EventLoop final : public TimerFactory {
public:
  explicit EventLoop(std::string name);
  ~EventLoop() override;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  const std::string& name() const { return name_; }
  boost::asio::io_context& context() { return context_; }

  // Runs callbacks on the calling thread until stop() is called.
  void run();
  // Runs the callbacks that are ready now, then returns (tests, and draining before exit).
  void runUntilIdle();
  // Makes run() return after the callback in progress; safe from any thread.
  void stop();
  bool stopped() const { return context_.stopped(); }

  // Queues `callback` to run on this loop's thread; safe from any thread.
  void post(std::function<void()> callback);
  // True when called from the thread currently running this loop.
  bool isLoopThread() const { return loopThread_.load() == std::this_thread::get_id(); }

  std::unique_ptr<Timer> createTimer(TimerCallback callback) override;

  // Destroys `object` on this thread after the current callback returns. Loop thread only.
  void deferredDelete(std::unique_ptr<DeferredDeletable> object);
  size_t pendingDeletions() const { return toDelete_.size(); }

private:
  void clearDeferredDeletions();

  std::string name_;
  boost::asio::io_context context_;
  std::atomic<std::thread::id> loopThread_{};
  std::vector<std::unique_ptr<DeferredDeletable>> toDelete_;
  bool cleanupPosted_ = false;
};

} // namespace meshd::core
