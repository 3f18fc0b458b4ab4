// Stats: counters, gauges and histograms that workers update without locks or shared cache
// lines, merged when read (admin /stats, Prometheus scrape).
//
// Every thread bound to a Store (bindCurrentThread) writes its own arena of slots; other threads
// (gRPC, tests) share one arena with atomic adds. A metric is a small handle (store + slot index)
// that is cheap to copy into per-worker objects. Reads sum the metric's slot over all arenas.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace meshd::stats {

using Tags = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { kCounter, kGauge, kHistogram };

class Store;

class Counter {
public:
  Counter() = default;
  void inc(uint64_t amount = 1) const;
  uint64_t value() const;
  explicit operator bool() const { return store_ != nullptr; }

private:
  friend class Store;
  Counter(Store* store, uint32_t slot) : store_(store), slot_(slot) {}
  Store* store_ = nullptr;
  uint32_t slot_ = 0;
};

// A gauge that threads move up and down (active connections, pending requests): each thread keeps
// its own delta and a read sums them. Use SetGauge for values that are set, not moved.
class Gauge {
public:
  Gauge() = default;
  void add(int64_t amount) const;
  void sub(int64_t amount) const { add(-amount); }
  void inc() const { add(1); }
  void dec() const { add(-1); }
  int64_t value() const;

private:
  friend class Store;
  Gauge(Store* store, uint32_t slot) : store_(store), slot_(slot) {}
  Store* store_ = nullptr;
  uint32_t slot_ = 0;
};

// A gauge holding one value set by its owner (a config version, a timestamp, a pool size).
class SetGauge {
public:
  SetGauge() = default;
  void set(int64_t value) const;
  int64_t value() const;

private:
  friend class Store;
  SetGauge(Store* store, uint32_t slot) : store_(store), slot_(slot) {}
  Store* store_ = nullptr;
  uint32_t slot_ = 0;
};

// A merged view of a histogram: per-bucket counts (not cumulative; the last is +Inf).
struct HistogramSnapshot {
  std::vector<double> bounds;   // upper bounds, ascending
  std::vector<uint64_t> counts; // bounds.size() + 1 entries
  uint64_t count = 0;
  double sum = 0;
  // Estimated q-quantile (0..1), interpolating linearly inside the bucket; 0 when empty.
  double quantile(double q) const;
};

class Histogram {
public:
  Histogram() = default;
  void record(double value) const;
  HistogramSnapshot snapshot() const;

private:
  friend class Store;
  Histogram(Store* store, uint32_t slot, const std::vector<double>* bounds)
      : store_(store), slot_(slot), bounds_(bounds) {}
  Store* store_ = nullptr;
  uint32_t slot_ = 0;
  const std::vector<double>* bounds_ = nullptr;
};

// Bucket bounds Istio uses for request durations in milliseconds.
std::vector<double> defaultDurationBucketsMs();
// Bucket bounds for sizes in bytes: 1, 10, 100, ... 10^9.
std::vector<double> defaultSizeBuckets();

struct MetricInfo {
  MetricType type;
  std::string name;
  Tags tags;
  std::string help;
  uint32_t slot;
  const std::vector<double>* bounds; // histograms only
};

class Store {
public:
  // `max_bound_threads`: how many threads may bind (workers + main); others share one arena.
  explicit Store(uint32_t max_bound_threads = 8);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Find-or-create by name and tags. A name keeps the type and help it was first created with.
  // Thread-safe; meant for setup paths, not per request.
  Counter counter(std::string_view name, const Tags& tags = {}, std::string_view help = {});
  Gauge gauge(std::string_view name, const Tags& tags = {}, std::string_view help = {});
  SetGauge setGauge(std::string_view name, const Tags& tags = {}, std::string_view help = {});
  Histogram histogram(std::string_view name, const Tags& tags, std::vector<double> bounds,
                      std::string_view help = {});

  // Gives the calling thread its own arena (workers, main). Returns false when all arenas are
  // taken (the thread then keeps using the shared one). Binding to a new store replaces the old.
  bool bindCurrentThread();

  // Every metric, ordered by name then tags. The infos stay valid as long as the store.
  void forEach(const std::function<void(const MetricInfo&)>& visit) const;

  // Raw merged reads, used by the handles and by exposition.
  uint64_t sumSlot(uint32_t slot) const;
  HistogramSnapshot histogramSnapshot(uint32_t slot, const std::vector<double>& bounds) const;

private:
  friend class Counter;
  friend class Gauge;
  friend class SetGauge;
  friend class Histogram;

  static constexpr uint32_t kChunkSlots = 512;
  static constexpr uint32_t kMaxChunks = 4096; // 2M slots
  struct Chunk {
    std::array<std::atomic<uint64_t>, kChunkSlots> slots{};
  };
  struct Arena {
    std::array<std::atomic<Chunk*>, kMaxChunks> chunks{};
    ~Arena();
  };

  struct Entry {
    MetricInfo info;
    std::unique_ptr<std::vector<double>> bounds;
  };

  Entry& findOrCreate(MetricType type, std::string_view name, const Tags& tags,
                      std::string_view help, uint32_t slots, std::vector<double> bounds);
  uint32_t allocateSlots(uint32_t count);
  // Adds to the calling thread's slot (its own arena if bound, else the shared one).
  void add(uint32_t slot, uint64_t amount);
  void addDouble(uint32_t slot, double amount);
  std::atomic<uint64_t>& slotIn(uint32_t arena, uint32_t slot);
  std::atomic<uint64_t>& sharedSlot(uint32_t slot);

  const uint64_t id_;
  std::vector<std::unique_ptr<Arena>> arenas_; // [0] is shared by unbound threads
  std::atomic<uint32_t> boundThreads_{0};
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_; // keyed by name + '\0' + encoded tags
  uint32_t nextSlot_ = 0;
};

} // namespace meshd::stats
