// WorkerPool: N threads, each running its own EventLoop and owning the objects created on it
// (connections, pools, load-balancer state). Work crosses threads only as posted callbacks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/event_loop.h"

namespace meshd::core {

class WorkerPool {
public:
  WorkerPool(std::string name_prefix, uint32_t worker_count);
  ~WorkerPool(); // stops and joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Starts one thread per worker; `on_thread_start(index)` runs first on each of them.
  void start(std::function<void(uint32_t)> on_thread_start = {});
  // Stops every loop after its current callback and joins the threads. Idempotent.
  void stop();

  uint32_t size() const { return static_cast<uint32_t>(loops_.size()); }
  EventLoop& loop(uint32_t index) { return *loops_.at(index); }
  // Posts a copy of `callback` to every worker.
  void postToAll(const std::function<void()>& callback);

  // The index of the worker whose thread is calling, or kNotAWorker.
  static uint32_t currentIndex();
  static constexpr uint32_t kNotAWorker = UINT32_MAX;

private:
  std::vector<std::unique_ptr<EventLoop>> loops_;
  std::vector<std::thread> threads_;
};

} // namespace meshd::core
