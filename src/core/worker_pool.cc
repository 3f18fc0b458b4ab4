// WorkerPool (worker_pool.h).
#include "core/worker_pool.h"

#include <pthread.h>

#include "core/assert.h"

namespace meshd::core {
namespace {
thread_local uint32_t tCurrentWorker = WorkerPool::kNotAWorker;
} // namespace

WorkerPool::WorkerPool(std::string name_prefix, uint32_t worker_count) {
  MESHD_ASSERT(worker_count > 0, "a worker pool needs at least one worker");
  for (uint32_t i = 0; i < worker_count; ++i) {
    loops_.push_back(std::make_unique<EventLoop>(name_prefix + std::to_string(i)));
  }
}

WorkerPool::~WorkerPool() {
  stop();
}

void WorkerPool::start(std::function<void(uint32_t)> on_thread_start) {
  MESHD_ASSERT(threads_.empty(), "worker pool started twice");
  for (uint32_t i = 0; i < loops_.size(); ++i) {
    threads_.emplace_back([this, i, on_thread_start] {
      tCurrentWorker = i;
      // Thread names show up in top, perf and gdb; Linux allows 15 characters.
      pthread_setname_np(pthread_self(), loops_[i]->name().substr(0, 15).c_str());
      if (on_thread_start) {
        on_thread_start(i);
      }
      loops_[i]->run();
      tCurrentWorker = kNotAWorker;
    });
  }
}

void WorkerPool::stop() {
  for (auto& loop : loops_) {
    loop->stop();
  }
  for (auto& thread : threads_) {
    if (thread.joinable()) {
      thread.join();
    }
  }
  threads_.clear();
}

void WorkerPool::postToAll(const std::function<void()>& callback) {
  for (auto& loop : loops_) {
    loop->post(callback);
  }
}

uint32_t WorkerPool::currentIndex() {
  return tCurrentWorker;
}

} // namespace meshd::core
