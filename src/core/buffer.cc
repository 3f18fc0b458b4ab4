// Implementation of the slice-chain Buffer and its watermark variant (buffer.h).
#include "core/buffer.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/assert.h"

namespace meshd::core {

Buffer::Slice Buffer::Slice::allocate(size_t capacity) {
  Slice slice;
  slice.storage = std::make_unique_for_overwrite<uint8_t[]>(capacity);
  slice.capacity = capacity;
  return slice;
}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    slices_ = std::move(other.slices_);
    length_ = std::exchange(other.length_, 0);
    other.slices_.clear();
    onLengthChanged();
    other.onLengthChanged();
  }
  return *this;
}

Buffer::Slice& Buffer::appendSlice(size_t min_capacity) {
  slices_.push_back(Slice::allocate(std::max(min_capacity, kDefaultSliceSize)));
  return slices_.back();
}

void Buffer::appendBytes(const uint8_t* src, size_t size) {
  if (!slices_.empty() && slices_.back().tailRoom() > 0) {
    Slice& tail = slices_.back();
    const size_t n = std::min(size, tail.tailRoom());
    std::memcpy(tail.storage.get() + tail.end, src, n);
    tail.end += n;
    src += n;
    size -= n;
  }
  if (size > 0) {
    Slice& slice = appendSlice(size);
    std::memcpy(slice.storage.get(), src, size);
    slice.end = size;
  }
}

void Buffer::add(std::string_view data) {
  if (data.empty()) {
    return;
  }
  appendBytes(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  length_ += data.size();
  onLengthChanged();
}

void Buffer::prepend(std::string_view data) {
  if (data.empty()) {
    return;
  }
  if (!slices_.empty() && slices_.front().begin >= data.size()) {
    Slice& head = slices_.front();
    head.begin -= data.size();
    std::memcpy(head.data(), data.data(), data.size());
  } else {
    // Data goes at the end of the new slice, leaving room for further prepends (headers).
    Slice slice = Slice::allocate(data.size() + kPrependHeadroom);
    slice.begin = kPrependHeadroom;
    slice.end = slice.capacity;
    std::memcpy(slice.data(), data.data(), data.size());
    slices_.push_front(std::move(slice));
  }
  length_ += data.size();
  onLengthChanged();
}

void Buffer::move(Buffer& other) {
  if (&other == this || other.empty()) {
    return;
  }
  for (auto& slice : other.slices_) {
    if (slice.size() > 0) {
      slices_.push_back(std::move(slice));
    }
  }
  length_ += other.length_;
  other.slices_.clear();
  other.length_ = 0;
  other.onLengthChanged();
  onLengthChanged();
}

void Buffer::move(Buffer& other, size_t length) {
  MESHD_ASSERT(length <= other.length_ && &other != this, "move past the end of a buffer");
  if (length == other.length_) {
    move(other);
    return;
  }
  size_t remaining = length;
  while (remaining > 0) {
    Slice& head = other.slices_.front();
    if (head.size() <= remaining) {
      remaining -= head.size();
      slices_.push_back(std::move(head));
      other.slices_.pop_front();
    } else {
      // Split the last slice by copying its moved part; the rest stays with `other`.
      appendBytes(head.data(), remaining);
      head.begin += remaining;
      remaining = 0;
    }
  }
  length_ += length;
  other.length_ -= length;
  other.onLengthChanged();
  onLengthChanged();
}

void Buffer::dropFront(size_t length) {
  size_t remaining = length;
  while (remaining > 0) {
    Slice& head = slices_.front();
    if (head.size() <= remaining) {
      remaining -= head.size();
      slices_.pop_front();
    } else {
      head.begin += remaining;
      remaining = 0;
    }
  }
}

void Buffer::drain(size_t length) {
  MESHD_ASSERT(length <= length_, "drain past the end of a buffer");
  dropFront(length);
  // Drop empty slices at the front that a reservation left behind.
  while (!slices_.empty() && slices_.front().size() == 0 && slices_.size() > 1) {
    slices_.pop_front();
  }
  length_ -= length;
  if (length > 0) {
    onLengthChanged();
  }
}

void Buffer::copyOut(size_t start, size_t length, void* out) const {
  MESHD_ASSERT(start + length <= length_, "copyOut past the end of a buffer");
  auto* dst = static_cast<uint8_t*>(out);
  for (const Slice& slice : slices_) {
    if (length == 0) {
      break;
    }
    if (start >= slice.size()) {
      start -= slice.size();
      continue;
    }
    const size_t n = std::min(length, slice.size() - start);
    std::memcpy(dst, slice.data() + start, n);
    dst += n;
    length -= n;
    start = 0;
  }
}

std::string Buffer::toString() const {
  std::string out(length_, '\0');
  copyOut(0, length_, out.data());
  return out;
}

std::string_view Buffer::linearize(size_t length) {
  MESHD_ASSERT(length <= length_, "linearize past the end of a buffer");
  if (length == 0) {
    return {};
  }
  if (slices_.front().size() < length) {
    Slice merged = Slice::allocate(std::max(length, kDefaultSliceSize));
    copyOut(0, length, merged.storage.get());
    merged.end = length;
    dropFront(length);
    slices_.push_front(std::move(merged));
  }
  return {reinterpret_cast<const char*>(slices_.front().data()), length};
}

size_t Buffer::search(std::string_view needle, size_t start) const {
  if (needle.empty()) {
    return start <= length_ ? start : npos;
  }
  if (start >= length_ || needle.size() > length_ - start) {
    return npos;
  }
  // Walk the chain keeping (slice, offset) for the candidate position; compare across slices.
  size_t position = 0;
  for (auto it = slices_.begin(); it != slices_.end(); ++it) {
    const size_t size = it->size();
    if (position + size <= start) {
      position += size;
      continue;
    }
    const auto* data = reinterpret_cast<const char*>(it->data());
    for (size_t i = start > position ? start - position : 0; i < size; ++i) {
      if (data[i] != needle[0]) {
        continue;
      }
      if (position + i + needle.size() > length_) {
        return npos;
      }
      // Compare the rest, possibly spanning later slices.
      size_t matched = 1;
      auto cursor = it;
      size_t offset = i + 1;
      while (matched < needle.size()) {
        if (offset == cursor->size()) {
          ++cursor;
          offset = 0;
          continue;
        }
        if (static_cast<char>(cursor->data()[offset]) != needle[matched]) {
          break;
        }
        ++matched;
        ++offset;
      }
      if (matched == needle.size()) {
        return position + i;
      }
    }
    position += size;
  }
  return npos;
}

bool Buffer::startsWith(std::string_view prefix) const {
  if (prefix.size() > length_) {
    return false;
  }
  size_t checked = 0;
  for (const Slice& slice : slices_) {
    if (checked == prefix.size()) {
      break;
    }
    const size_t n = std::min(slice.size(), prefix.size() - checked);
    if (std::memcmp(slice.data(), prefix.data() + checked, n) != 0) {
      return false;
    }
    checked += n;
  }
  return true;
}

std::span<uint8_t> Buffer::reserve(size_t min_length) {
  if (slices_.empty() || slices_.back().tailRoom() < min_length) {
    appendSlice(min_length);
  }
  Slice& tail = slices_.back();
  return {tail.storage.get() + tail.end, tail.tailRoom()};
}

void Buffer::commit(size_t length) {
  if (length == 0) {
    // Do not keep an empty slice that only a reservation created.
    if (!slices_.empty() && slices_.back().size() == 0) {
      slices_.pop_back();
    }
    return;
  }
  MESHD_ASSERT(!slices_.empty() && slices_.back().tailRoom() >= length,
               "commit without a matching reserve");
  slices_.back().end += length;
  length_ += length;
  onLengthChanged();
}

size_t Buffer::slices(std::span<std::span<const uint8_t>> out) const {
  size_t count = 0;
  for (const Slice& slice : slices_) {
    if (count == out.size()) {
      break;
    }
    if (slice.size() > 0) {
      out[count++] = {slice.data(), slice.size()};
    }
  }
  return count;
}

void WatermarkBuffer::setWatermarks(size_t low, size_t high) {
  MESHD_ASSERT(low <= high, "low watermark above the high one");
  low_ = low;
  high_ = high;
  onLengthChanged();
}

void WatermarkBuffer::onLengthChanged() {
  if (high_ == 0) {
    if (aboveHigh_) {
      aboveHigh_ = false;
      onBelowLow_();
    }
    return;
  }
  if (!aboveHigh_ && length() > high_) {
    aboveHigh_ = true;
    onAboveHigh_();
  } else if (aboveHigh_ && length() <= low_) {
    aboveHigh_ = false;
    onBelowLow_();
  }
}

} // namespace meshd::core
