// Injectable randomness: load balancers, jitter and request ids take a RandomGenerator& so tests
// can make them deterministic.
#pragma once

#include <cstdint>
#include <string>

namespace meshd::core {

class RandomGenerator {
public:
  virtual ~RandomGenerator() = default;
  virtual uint64_t next() = 0;

  // Uniform in [0, bound); bound must be > 0.
  uint64_t uniform(uint64_t bound);
  // A random (version 4) UUID in its canonical 36-character text form.
  std::string uuid();
};

// xoshiro256** seeded from the OS; fast, not cryptographic, not thread-safe: one per thread.
class DefaultRandomGenerator final : public RandomGenerator {
public:
  DefaultRandomGenerator();
  explicit DefaultRandomGenerator(uint64_t seed);
  uint64_t next() override;

  // A generator for the calling thread.
  static DefaultRandomGenerator& forThisThread();

private:
  uint64_t state_[4];
};

} // namespace meshd::core
