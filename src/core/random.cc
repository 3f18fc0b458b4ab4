// xoshiro256** (Blackman and Vigna) seeded through splitmix64, plus the helpers in random.h.
#include "core/random.h"

#include <random>

namespace meshd::core {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

uint64_t seedFromOs() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

} // namespace

uint64_t RandomGenerator::uniform(uint64_t bound) {
  // Lemire's multiply-shift with rejection: unbiased without a division on the common path.
  __uint128_t product = static_cast<__uint128_t>(next()) * bound;
  auto low = static_cast<uint64_t>(product);
  if (low < bound) {
    const uint64_t threshold = -bound % bound;
    while (low < threshold) {
      product = static_cast<__uint128_t>(next()) * bound;
      low = static_cast<uint64_t>(product);
    }
  }
  return static_cast<uint64_t>(product >> 64);
}

std::string RandomGenerator::uuid() {
  uint64_t high = next();
  uint64_t low = next();
  high = (high & 0xffffffffffff0fffULL) | 0x0000000000004000ULL; // version 4
  low = (low & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;   // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  size_t pos = 0;
  auto put = [&](uint64_t value, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) {
        ++pos; // keep the '-'
      }
      out[pos++] = kHex[(value >> (i * 4)) & 0xf];
    }
  };
  put(high, 16);
  put(low, 16);
  return out;
}

DefaultRandomGenerator::DefaultRandomGenerator() : DefaultRandomGenerator(seedFromOs()) {}

DefaultRandomGenerator::DefaultRandomGenerator(uint64_t seed) {
  for (auto& word : state_) {
    word = splitmix64(seed);
  }
}

uint64_t DefaultRandomGenerator::next() {
  const uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

DefaultRandomGenerator& DefaultRandomGenerator::forThisThread() {
  thread_local DefaultRandomGenerator generator;
  return generator;
}

} // namespace meshd::core
