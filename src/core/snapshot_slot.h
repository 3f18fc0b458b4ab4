// SnapshotSlot<T>: how immutable config reaches workers. The main thread publishes a
// shared_ptr<const T>; every worker receives it as a posted message and keeps its own copy, which
// its request path reads with no lock and no atomic. A worker picks the new snapshot up between
// callbacks, so a request never sees config change under it. The previous snapshot's reference is
// sent back to the main thread, so snapshots are destroyed on the thread that built them.
#pragma once

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "core/assert.h"
#include "core/event_loop.h"
#include "core/worker_pool.h"

namespace meshd::core {

template <class T>
class SnapshotSlot {
public:
  // `main` is the publishing thread's loop; `workers` must outlive the slot's use.
  SnapshotSlot(EventLoop& main, WorkerPool& workers)
      : main_(main), workers_(workers), perWorker_(workers.size()) {}

  // Main thread: makes `snapshot` current. `on_applied` (optional) runs on the main thread once
  // every worker has switched to it.
  void publish(std::shared_ptr<const T> snapshot, std::function<void()> on_applied = {}) {
    current_ = snapshot;
    auto remaining = std::make_shared<uint32_t>(workers_.size());
    for (uint32_t i = 0; i < workers_.size(); ++i) {
      workers_.loop(i).post([this, i, snapshot, remaining, on_applied] {
        std::shared_ptr<const T> previous = std::exchange(perWorker_[i].value, snapshot);
        // Hand the old reference back; the counter is only touched on the main thread.
        main_.post([previous = std::move(previous), remaining, on_applied]() mutable {
          previous.reset();
          if (--*remaining == 0 && on_applied) {
            on_applied();
          }
        });
      });
    }
  }

  // Worker thread: the snapshot this worker currently uses (null before the first publish).
  const std::shared_ptr<const T>& onWorker() const {
    const uint32_t index = WorkerPool::currentIndex();
    MESHD_ASSERT(index < perWorker_.size(), "SnapshotSlot::onWorker called off a worker thread");
    return perWorker_[index].value;
  }

  // Main thread: the latest published snapshot.
  const std::shared_ptr<const T>& latest() const { return current_; }

private:
  // Each worker's copy sits on its own cache line so workers never share one.
  struct alignas(64) PerWorker {
    std::shared_ptr<const T> value;
  };

  EventLoop& main_;
  WorkerPool& workers_;
  std::shared_ptr<const T> current_;
  std::vector<PerWorker> perWorker_;
};

} // namespace meshd::core
