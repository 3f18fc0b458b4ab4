// Stable content hashes for resource versions (see version_hash.h).
#include "control/xds/version_hash.h"

#include "fmt/format.h"

namespace meshd::control::xds {

uint64_t fnv1a64(std::string_view bytes, uint64_t seed) {
  constexpr uint64_t kPrime = 0x100000001b3ULL;
  uint64_t hash = seed;
  for (char c : bytes) {
    hash ^= static_cast<uint8_t>(c);
    hash *= kPrime;
  }
  return hash;
}

std::string hexVersion(uint64_t hash) {
  return fmt::format("{:016x}", hash);
}

} // namespace meshd::control::xds
