// Buffer: a byte queue kept as a chain of slices, so that data moves between connections and
// filters without copying, sockets read into and write from it directly (reserve/commit, slices
// for writev), and memory grows in bounded steps. WatermarkBuffer adds the high/low thresholds
// that drive back-pressure (stop reading a socket while its peer's output is too full).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace meshd::core {

class Buffer {
public:
  // Bytes allocated at once when a write needs new space; larger adds get a slice of their size.
  static constexpr size_t kDefaultSliceSize = 16 * 1024;
  // Free space kept in front of a slice created by prepend().
  static constexpr size_t kPrependHeadroom = 256;

  Buffer() = default;
  explicit Buffer(std::string_view data) { add(data); }
  Buffer(Buffer&&) noexcept = default;
  Buffer& operator=(Buffer&&) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  virtual ~Buffer() = default;

  size_t length() const { return length_; }
  bool empty() const { return length_ == 0; }

  // Appends a copy of `data`.
  void add(std::string_view data);
  // Inserts a copy of `data` at the front.
  void prepend(std::string_view data);
  // Moves all of `other` to the end of this buffer (whole slices change owner; no copy).
  void move(Buffer& other);
  // Moves the first `length` bytes of `other` (must be <= other.length()).
  void move(Buffer& other, size_t length);
  // Removes the first `length` bytes (must be <= length()).
  void drain(size_t length);
  void clear() { drain(length_); }

  // Copies `length` bytes starting at `start` into `out` (the range must be inside the buffer).
  void copyOut(size_t start, size_t length, void* out) const;
  std::string toString() const;
  // Makes the first `length` bytes contiguous and returns them (must be <= length()).
  std::string_view linearize(size_t length);
  // Position of the first `needle` at or after `start`, or npos.
  size_t search(std::string_view needle, size_t start = 0) const;
  bool startsWith(std::string_view prefix) const;
  static constexpr size_t npos = static_cast<size_t>(-1);

  // Zero-copy writes: space for at least `min_length` bytes at the end, to be followed by
  // commit(n) with the number of bytes actually written (n <= the span's size). Reserving again
  // before committing abandons the previous reservation; nothing else may be added in between.
  std::span<uint8_t> reserve(size_t min_length = kDefaultSliceSize);
  void commit(size_t length);

  // The readable bytes as at most `max_slices` contiguous spans, in order (for writev/send).
  size_t slices(std::span<std::span<const uint8_t>> out) const;
  size_t sliceCount() const { return slices_.size(); }

protected:
  // Called after every change of length(); WatermarkBuffer uses it.
  virtual void onLengthChanged() {}

private:
  struct Slice {
    std::unique_ptr<uint8_t[]> storage;
    size_t capacity = 0;
    size_t begin = 0; // first readable byte
    size_t end = 0;   // one past the last readable byte

    size_t size() const { return end - begin; }
    size_t tailRoom() const { return capacity - end; }
    uint8_t* data() { return storage.get() + begin; }
    const uint8_t* data() const { return storage.get() + begin; }
    static Slice allocate(size_t capacity);
  };

  Slice& appendSlice(size_t min_capacity);
  // Removes the first `length` readable bytes' slices without updating length_ or notifying.
  void dropFront(size_t length);
  // Copies bytes to the end without updating length_ or notifying.
  void appendBytes(const uint8_t* src, size_t size);

  std::deque<Slice> slices_;
  size_t length_ = 0;
};

// A Buffer that calls `on_above_high` when its length rises above the high watermark and
// `on_below_low` when it then falls to the low watermark or below (each once per crossing).
class WatermarkBuffer final : public Buffer {
public:
  WatermarkBuffer(std::function<void()> on_above_high, std::function<void()> on_below_low)
      : onAboveHigh_(std::move(on_above_high)), onBelowLow_(std::move(on_below_low)) {}

  // high = 0 disables the watermarks. low defaults to half of high.
  void setWatermarks(size_t high) { setWatermarks(high / 2, high); }
  void setWatermarks(size_t low, size_t high);
  bool aboveHighWatermark() const { return aboveHigh_; }
  size_t highWatermark() const { return high_; }

private:
  void onLengthChanged() override;

  std::function<void()> onAboveHigh_;
  std::function<void()> onBelowLow_;
  size_t low_ = 0;
  size_t high_ = 0;
  bool aboveHigh_ = false;
};

} // namespace meshd::core
