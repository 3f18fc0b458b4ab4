// Differential fuzz target for Buffer: decodes the input into a sequence of operations, applies
// them to a Buffer and to a std::string model, and checks that both always hold the same bytes.
#include <cstdint>
#include <cstring>
#include <string>

#include "core/assert.h"
#include "core/buffer.h"

namespace {

class Input {
public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  // A length up to ~64 KiB, biased small, so slice boundaries are crossed often.
  size_t length() {
    const uint8_t selector = byte();
    if (selector < 200) {
      return selector;
    }
    return (static_cast<size_t>(byte()) << 8 | byte()) %
           (3 * meshd::core::Buffer::kDefaultSliceSize);
  }
  std::string bytes(size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) {
      out.push_back(static_cast<char>('a' + (byte() % 26)));
    }
    return out;
  }

private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

void check(const meshd::core::Buffer& buffer, const std::string& model) {
  MESHD_ASSERT(buffer.length() == model.size(), "length differs from the model");
  MESHD_ASSERT(buffer.toString() == model, "content differs from the model");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using meshd::core::Buffer;
  Input input(data, size);
  Buffer buffer;
  Buffer other;
  std::string model;
  std::string otherModel;
  for (int steps = 0; !input.empty() && steps < 256; ++steps) {
    switch (input.byte() % 10) {
    case 0: {
      const std::string s = input.bytes(input.length());
      buffer.add(s);
      model += s;
      break;
    }
    case 1: {
      const std::string s = input.bytes(input.length() % 64);
      buffer.prepend(s);
      model.insert(0, s);
      break;
    }
    case 2: {
      const size_t n = model.empty() ? 0 : input.length() % (model.size() + 1);
      buffer.drain(n);
      model.erase(0, n);
      break;
    }
    case 3: {
      const std::string s = input.bytes(input.length());
      other.add(s);
      otherModel += s;
      const size_t n = input.length() % (otherModel.size() + 1);
      buffer.move(other, n);
      model += otherModel.substr(0, n);
      otherModel.erase(0, n);
      break;
    }
    case 4:
      buffer.move(other);
      model += otherModel;
      otherModel.clear();
      break;
    case 5: {
      const size_t n = model.empty() ? 0 : input.length() % (model.size() + 1);
      const std::string_view front = buffer.linearize(n);
      MESHD_ASSERT(front == std::string_view(model).substr(0, n), "linearize differs");
      break;
    }
    case 6: {
      const std::string needle = input.bytes(1 + input.byte() % 4);
      const size_t start = input.byte() % (model.size() + 2);
      const size_t expected = model.find(needle, start);
      const size_t got = buffer.search(needle, start);
      MESHD_ASSERT((expected == std::string::npos ? Buffer::npos : expected) == got,
                   "search differs");
      break;
    }
    case 7: {
      const size_t want = 1 + input.length();
      const auto space = buffer.reserve(want);
      MESHD_ASSERT(space.size() >= want, "reservation too small");
      const size_t n = input.length() % (want + 1);
      const std::string s = input.bytes(n);
      std::memcpy(space.data(), s.data(), n);
      buffer.commit(n);
      model += s;
      break;
    }
    case 8: {
      if (!model.empty()) {
        const size_t start = input.length() % model.size();
        const size_t n = input.length() % (model.size() - start + 1);
        std::string out(n, '\0');
        buffer.copyOut(start, n, out.data());
        MESHD_ASSERT(out == model.substr(start, n), "copyOut differs");
      }
      break;
    }
    default: {
      const std::string prefix = model.substr(0, input.byte() % 8);
      MESHD_ASSERT(buffer.startsWith(prefix), "startsWith differs");
      break;
    }
    }
    check(buffer, model);
    check(other, otherModel);
  }
  return 0;
}
