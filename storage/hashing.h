// A fast 64-bit hash for byte strings, seeded once per process so that clients cannot
// predict bucket positions (hash flooding). Used by every hash table in storage/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace rd {

namespace hashing_detail {

inline uint64_t load64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline uint64_t load32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Multiply two 64-bit words into 128 bits and fold the halves: cheap and mixes well.
inline uint64_t fold_multiply(uint64_t a, uint64_t b) {
  __uint128_t product = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

inline constexpr uint64_t kMulA = 0x9E3779B97F4A7C15ULL;
inline constexpr uint64_t kMulB = 0xD6E8FEB86659FD93ULL;
inline constexpr uint64_t kMulC = 0xA0761D6478BD642FULL;

}  // namespace hashing_detail

// The per-process seed; set once at startup before any table exists. The fixed default keeps
// unit tests deterministic.
inline uint64_t& hash_seed() {
  static uint64_t seed = 0x2545F4914F6CDD1DULL;
  return seed;
}

inline uint64_t hash_bytes(std::string_view data) {
  using namespace hashing_detail;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t length = data.size();
  uint64_t h = hash_seed() ^ (length * kMulA);
  while (length > 16) {
    h = fold_multiply(load64(p) ^ kMulB ^ h, load64(p + 8) ^ kMulC);
    p += 16;
    length -= 16;
  }
  uint64_t a = 0;
  uint64_t b = 0;
  if (length >= 8) {
    a = load64(p);
    b = load64(p + length - 8);
  } else if (length >= 4) {
    a = load32(p);
    b = load32(p + length - 4);
  } else if (length > 0) {
    a = (static_cast<uint64_t>(p[0]) << 16) | (static_cast<uint64_t>(p[length >> 1]) << 8) | p[length - 1];
  }
  h = fold_multiply(a ^ kMulB ^ h, b ^ kMulC ^ length);
  return fold_multiply(h, kMulA);
}

}  // namespace rd
