// Stable content hashes for resource versions: the same bytes give the same version in every
// process and across restarts (absl::Hash and std::hash are not guaranteed to), so a client that
// reconnects with the versions it holds does not get unchanged resources again.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace meshd::control::xds {

// 64-bit FNV-1a of `bytes`, continuing from `seed`.
uint64_t fnv1a64(std::string_view bytes, uint64_t seed = 0xcbf29ce484222325ULL);

// 16 lowercase hex digits.
std::string hexVersion(uint64_t hash);

} // namespace meshd::control::xds
