// Store and metric handles (store.h).
#include "core/stats/store.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "core/assert.h"

namespace meshd::stats {
namespace {

std::atomic<uint64_t> gNextStoreId{1};

// Which store and arena the current thread writes to.
struct ThreadBinding {
  uint64_t storeId = 0;
  uint32_t arena = 0;
};
thread_local ThreadBinding tBinding;

std::string entryKey(std::string_view name, const Tags& tags) {
  std::string key(name);
  for (const auto& [tag, value] : tags) {
    key.append(1, '\0').append(tag).append(1, '=').append(value);
  }
  return key;
}

// Histogram slot layout: one per bucket (+Inf last), then the sum (double bits). The count is the
// sum of the buckets, so a scrape is always self-consistent.
uint32_t histogramSlots(size_t bounds) {
  return static_cast<uint32_t>(bounds + 2);
}

} // namespace

void Counter::inc(uint64_t amount) const {
  store_->add(slot_, amount);
}
uint64_t Counter::value() const {
  return store_->sumSlot(slot_);
}

void Gauge::add(int64_t amount) const {
  store_->add(slot_, static_cast<uint64_t>(amount));
}
int64_t Gauge::value() const {
  return static_cast<int64_t>(store_->sumSlot(slot_));
}

void SetGauge::set(int64_t value) const {
  store_->sharedSlot(slot_).store(static_cast<uint64_t>(value), std::memory_order_relaxed);
}
int64_t SetGauge::value() const {
  return static_cast<int64_t>(store_->sharedSlot(slot_).load(std::memory_order_relaxed));
}

void Histogram::record(double value) const {
  const auto bucket = static_cast<uint32_t>(
      std::lower_bound(bounds_->begin(), bounds_->end(), value) - bounds_->begin());
  const uint32_t base = slot_;
  const auto buckets = static_cast<uint32_t>(bounds_->size() + 1);
  store_->add(base + bucket, 1);
  store_->addDouble(base + buckets, value);
}

HistogramSnapshot Histogram::snapshot() const {
  return store_->histogramSnapshot(slot_, *bounds_);
}

double HistogramSnapshot::quantile(double q) const {
  if (count == 0) {
    return 0;
  }
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(count);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0 || static_cast<double>(seen + counts[i]) < rank) {
      seen += counts[i];
      continue;
    }
    const double lower = i == 0 ? 0 : bounds[i - 1];
    if (i == bounds.size()) {
      return lower; // in +Inf: the best estimate is the largest finite bound
    }
    const double upper = bounds[i];
    const double within = (rank - static_cast<double>(seen)) / static_cast<double>(counts[i]);
    return lower + (upper - lower) * within;
  }
  return bounds.empty() ? 0 : bounds.back();
}

std::vector<double> defaultDurationBucketsMs() {
  return {0.5,  1,    5,     10,    25,    50,     100,    250,     500,    1000,
          2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000};
}

std::vector<double> defaultSizeBuckets() {
  std::vector<double> bounds;
  for (double b = 1; b <= 1e9; b *= 10) {
    bounds.push_back(b);
  }
  return bounds;
}

Store::Arena::~Arena() {
  for (auto& chunk : chunks) {
    delete chunk.load(std::memory_order_relaxed);
  }
}

Store::Store(uint32_t max_bound_threads) : id_(gNextStoreId.fetch_add(1)) {
  for (uint32_t i = 0; i < max_bound_threads + 1; ++i) {
    arenas_.push_back(std::make_unique<Arena>());
  }
}

Store::~Store() = default;

bool Store::bindCurrentThread() {
  if (tBinding.storeId == id_) {
    return true;
  }
  const uint32_t index = boundThreads_.fetch_add(1) + 1;
  if (index >= arenas_.size()) {
    boundThreads_.fetch_sub(1);
    tBinding = {};
    return false;
  }
  tBinding = {id_, index};
  return true;
}

std::atomic<uint64_t>& Store::slotIn(uint32_t arena, uint32_t slot) {
  Chunk* chunk = arenas_[arena]->chunks[slot / kChunkSlots].load(std::memory_order_acquire);
  return chunk->slots[slot % kChunkSlots];
}

void Store::add(uint32_t slot, uint64_t amount) {
  if (tBinding.storeId == id_) {
    // Only this thread writes its arena: a plain load and store (no locked instruction) is enough;
    // readers still see whole values because the slot is atomic.
    std::atomic<uint64_t>& own = slotIn(tBinding.arena, slot);
    own.store(own.load(std::memory_order_relaxed) + amount, std::memory_order_relaxed);
  } else {
    slotIn(0, slot).fetch_add(amount, std::memory_order_relaxed);
  }
}

void Store::addDouble(uint32_t slot, double amount) {
  if (tBinding.storeId == id_) {
    std::atomic<uint64_t>& own = slotIn(tBinding.arena, slot);
    own.store(std::bit_cast<uint64_t>(std::bit_cast<double>(own.load(std::memory_order_relaxed)) +
                                      amount),
              std::memory_order_relaxed);
    return;
  }
  // The shared arena has several writers: compare-and-swap.
  std::atomic<uint64_t>& shared = slotIn(0, slot);
  uint64_t seen = shared.load(std::memory_order_relaxed);
  while (!shared.compare_exchange_weak(
      seen, std::bit_cast<uint64_t>(std::bit_cast<double>(seen) + amount),
      std::memory_order_relaxed)) {
  }
}

std::atomic<uint64_t>& Store::sharedSlot(uint32_t slot) {
  return slotIn(0, slot);
}

uint64_t Store::sumSlot(uint32_t slot) const {
  uint64_t total = 0;
  for (const auto& arena : arenas_) {
    const Chunk* chunk = arena->chunks[slot / kChunkSlots].load(std::memory_order_acquire);
    total += chunk->slots[slot % kChunkSlots].load(std::memory_order_relaxed);
  }
  return total;
}

HistogramSnapshot Store::histogramSnapshot(uint32_t slot, const std::vector<double>& bounds) const {
  HistogramSnapshot snapshot;
  snapshot.bounds = bounds;
  snapshot.counts.resize(bounds.size() + 1);
  const auto buckets = static_cast<uint32_t>(bounds.size() + 1);
  for (uint32_t i = 0; i < buckets; ++i) {
    snapshot.counts[i] = sumSlot(slot + i);
    snapshot.count += snapshot.counts[i];
  }
  for (const auto& arena : arenas_) {
    const uint32_t sumSlotIndex = slot + buckets;
    const Chunk* chunk = arena->chunks[sumSlotIndex / kChunkSlots].load(std::memory_order_acquire);
    snapshot.sum += std::bit_cast<double>(
        chunk->slots[sumSlotIndex % kChunkSlots].load(std::memory_order_relaxed));
  }
  return snapshot;
}

uint32_t Store::allocateSlots(uint32_t count) {
  // Keep a metric's slots inside one chunk so a handle never crosses chunks.
  MESHD_ASSERT(count <= kChunkSlots, "metric needs more slots than a chunk holds");
  if (nextSlot_ / kChunkSlots != (nextSlot_ + count - 1) / kChunkSlots) {
    nextSlot_ = (nextSlot_ / kChunkSlots + 1) * kChunkSlots;
  }
  const uint32_t base = nextSlot_;
  const uint32_t chunkIndex = base / kChunkSlots;
  MESHD_ASSERT(chunkIndex < kMaxChunks, "stats store is full");
  for (auto& arena : arenas_) {
    if (arena->chunks[chunkIndex].load(std::memory_order_relaxed) == nullptr) {
      arena->chunks[chunkIndex].store(new Chunk(), std::memory_order_release);
    }
  }
  nextSlot_ += count;
  return base;
}

Store::Entry& Store::findOrCreate(MetricType type, std::string_view name, const Tags& tags,
                                  std::string_view help, uint32_t slots,
                                  std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  std::string key = entryKey(name, tags);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    MESHD_ASSERT(it->second.info.type == type, "metric re-created with another type");
    return it->second;
  }
  Entry entry;
  entry.info =
      MetricInfo{type, std::string(name), tags, std::string(help), allocateSlots(slots), nullptr};
  if (type == MetricType::kHistogram) {
    entry.bounds = std::make_unique<std::vector<double>>(std::move(bounds));
    entry.info.bounds = entry.bounds.get();
  }
  return entries_.emplace(std::move(key), std::move(entry)).first->second;
}

Counter Store::counter(std::string_view name, const Tags& tags, std::string_view help) {
  return {this, findOrCreate(MetricType::kCounter, name, tags, help, 1, {}).info.slot};
}

Gauge Store::gauge(std::string_view name, const Tags& tags, std::string_view help) {
  return {this, findOrCreate(MetricType::kGauge, name, tags, help, 1, {}).info.slot};
}

SetGauge Store::setGauge(std::string_view name, const Tags& tags, std::string_view help) {
  return {this, findOrCreate(MetricType::kGauge, name, tags, help, 1, {}).info.slot};
}

Histogram Store::histogram(std::string_view name, const Tags& tags, std::vector<double> bounds,
                           std::string_view help) {
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  const auto slots = histogramSlots(bounds.size());
  const Entry& entry =
      findOrCreate(MetricType::kHistogram, name, tags, help, slots, std::move(bounds));
  return {this, entry.info.slot, entry.info.bounds};
}

void Store::forEach(const std::function<void(const MetricInfo&)>& visit) const {
  std::vector<const MetricInfo*> infos;
  {
    std::lock_guard lock(mutex_);
    infos.reserve(entries_.size());
    for (const auto& [key, entry] : entries_) {
      infos.push_back(&entry.info);
    }
  }
  // Entries are never removed, so the pointers stay valid without the lock.
  for (const MetricInfo* info : infos) {
    visit(*info);
  }
}

} // namespace meshd::stats
