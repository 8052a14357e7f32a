// CRC-64 with the Jones polynomial (0xad93d23594c935a9), reflected input and output, initial
// value 0 and no final xor: the checksum at the end of an RDB file. Slice-by-8: eight tables
// let the loop consume a 64-bit word per step, which keeps SAVE of large datasets I/O bound.
#include <cstring>

#include "storage/rdb_codec.h"

namespace rd::rdb {
namespace {

constexpr uint64_t kReflectedPoly = 0x95ac9329ac4bc9b5ULL;  // 0xad93d23594c935a9 bit-reversed

struct Tables {
  uint64_t t[8][256];
  Tables() {
    for (uint64_t i = 0; i < 256; i++) {
      uint64_t crc = i;
      for (int bit = 0; bit < 8; bit++) crc = (crc & 1) ? (crc >> 1) ^ kReflectedPoly : crc >> 1;
      t[0][i] = crc;
    }
    for (int k = 1; k < 8; k++) {
      for (int i = 0; i < 256; i++) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
    }
  }
};

const Tables& tables() {
  static const Tables instance;
  return instance;
}

}  // namespace

uint64_t crc64(uint64_t crc, const void* data, size_t length) {
  const Tables& tb = tables();
  const auto* p = static_cast<const unsigned char*>(data);
  while (length >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);  // little-endian host: the first byte is the low byte
    crc ^= word;
    crc = tb.t[7][crc & 0xff] ^ tb.t[6][(crc >> 8) & 0xff] ^ tb.t[5][(crc >> 16) & 0xff] ^
          tb.t[4][(crc >> 24) & 0xff] ^ tb.t[3][(crc >> 32) & 0xff] ^ tb.t[2][(crc >> 40) & 0xff] ^
          tb.t[1][(crc >> 48) & 0xff] ^ tb.t[0][crc >> 56];
    p += 8;
    length -= 8;
  }
  while (length-- > 0) crc = tb.t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return crc;
}

}  // namespace rd::rdb
