// Unit tests for WorkerPool and SnapshotSlot, including concurrent publication while workers read
// (run under ThreadSanitizer by `make test`).
#include "core/worker_pool.h"

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "core/snapshot_slot.h"
#include "gtest/gtest.h"

namespace meshd::core {
namespace {

using namespace std::chrono_literals;

TEST(WorkerPoolTest, EachWorkerRunsOnItsOwnThreadWithItsIndex) {
  WorkerPool pool("w", 3);
  std::atomic<int> started{0};
  pool.start([&](uint32_t) { ++started; });
  std::mutex mutex;
  std::set<uint32_t> indexes;
  std::set<std::thread::id> threads;
  std::atomic<int> done{0};
  pool.postToAll([&] {
    std::lock_guard lock(mutex);
    indexes.insert(WorkerPool::currentIndex());
    threads.insert(std::this_thread::get_id());
    ++done;
  });
  while (done.load() < 3) {
    std::this_thread::sleep_for(1ms);
  }
  pool.stop();
  EXPECT_EQ(started, 3);
  EXPECT_EQ(indexes, (std::set<uint32_t>{0, 1, 2}));
  EXPECT_EQ(threads.size(), 3u);
  EXPECT_EQ(WorkerPool::currentIndex(), WorkerPool::kNotAWorker);
}

TEST(WorkerPoolTest, StopIsIdempotentAndJoins) {
  WorkerPool pool("w", 2);
  pool.start();
  pool.stop();
  pool.stop();
}

struct Config {
  explicit Config(int v, std::atomic<int>& destroyed_off_main, std::thread::id main)
      : version(v), destroyedOffMain(destroyed_off_main), mainThread(main) {}
  ~Config() {
    if (std::this_thread::get_id() != mainThread) {
      ++destroyedOffMain;
    }
  }
  int version;
  std::atomic<int>& destroyedOffMain;
  std::thread::id mainThread;
};

TEST(SnapshotSlotTest, WorkersSeeEveryPublicationInOrderAndMainDestroysOldOnes) {
  EventLoop main("main");
  WorkerPool workers("w", 2);
  std::atomic<int> destroyedOffMain{0};
  {
    SnapshotSlot<Config> slot(main, workers);
    workers.start();

    // Workers read continuously; a reader must only ever see versions go up.
    std::atomic<bool> stopReading{false};
    std::atomic<int> regressions{0};
    std::atomic<int> reads{0};
    std::vector<int> lastSeen(workers.size(), 0);
    std::function<void(uint32_t)> readLoop = [&](uint32_t i) {
      if (const auto& config = slot.onWorker()) {
        if (config->version < lastSeen[i]) {
          ++regressions;
        }
        lastSeen[i] = config->version;
        ++reads;
      }
      if (!stopReading) {
        workers.loop(i).post([&readLoop, i] { readLoop(i); });
      }
    };
    for (uint32_t i = 0; i < workers.size(); ++i) {
      workers.loop(i).post([&readLoop, i] { readLoop(i); });
    }

    constexpr int kPublications = 200;
    int applied = 0;
    const auto mainThread = std::this_thread::get_id();
    for (int version = 1; version <= kPublications; ++version) {
      slot.publish(std::make_shared<const Config>(version, destroyedOffMain, mainThread),
                   [&] { ++applied; });
      main.runUntilIdle();
    }
    // Wait (bounded) until every worker has acknowledged every publication.
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (applied < kPublications && std::chrono::steady_clock::now() < deadline) {
      main.runUntilIdle();
      std::this_thread::sleep_for(1ms);
    }
    stopReading = true;
    workers.stop();
    main.runUntilIdle();
    EXPECT_EQ(applied, kPublications);
    EXPECT_EQ(regressions, 0);
    EXPECT_GT(reads, 0);
    EXPECT_EQ(slot.latest()->version, kPublications);
    EXPECT_EQ(lastSeen, std::vector<int>(workers.size(), kPublications));
  }
  EXPECT_EQ(destroyedOffMain, 0);
}

} // namespace
} // namespace meshd::core
