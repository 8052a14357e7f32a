// The pseudo-random generator behind math.random in scripts: the classic 48-bit linear
// congruential generator of drand48 (x = a*x + c mod 2^48), as Redis uses so that a given
// seed gives the same sequence on every platform. Redis 7.0 does not reseed it per script:
// the sequence runs on across scripts until math.randomseed().
#pragma once

#include <cstdint>

namespace rd {

class Rand48 {
 public:
  static constexpr int32_t kMax = INT32_MAX;

  // srand48(seed): the high 32 bits of the state from the seed, the low 16 bits 0x330E.
  void seed(int32_t value) { state_ = (uint64_t{static_cast<uint32_t>(value)} << 16) | 0x330E; }
  // lrand48(): the next state's top 31 bits.
  int32_t next() {
    state_ = (kMultiplier * state_ + kIncrement) & kMask;
    return static_cast<int32_t>(state_ >> 17);
  }

 private:
  static constexpr uint64_t kMultiplier = 0x5DEECE66DULL;
  static constexpr uint64_t kIncrement = 0xB;
  static constexpr uint64_t kMask = (uint64_t{1} << 48) - 1;
  uint64_t state_ = 0x1234ABCD330EULL;  // drand48's state before any seeding
};

}  // namespace rd
