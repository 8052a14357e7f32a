// LZF, the compression the RDB format uses for strings, written from the format description:
// a stream of literal runs (control byte 0..31 = run length - 1, then the bytes) and back
// references (3 high bits = match length - 2, 7 meaning "one more length byte follows",
// 5 low bits + next byte = distance - 1, distances up to 8 KB, lengths up to 264).
#include <cstring>

#include "storage/rdb_codec.h"

namespace rd::rdb {
namespace {

constexpr size_t kHashBits = 14;
constexpr size_t kMaxLiteral = 32;
constexpr size_t kMaxDistance = 8192;
constexpr size_t kMaxMatch = 264;  // 2 + 7 + 255

inline uint32_t hash3(const unsigned char* p) {
  uint32_t v = (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
  return (v * 2654435761u) >> (32 - kHashBits);
}

// Writes literal runs for in[start, end). False when `out` is full.
bool emit_literals(const unsigned char* in, size_t start, size_t end, unsigned char* out, size_t out_len,
                   size_t* op) {
  while (start < end) {
    size_t run = std::min(kMaxLiteral, end - start);
    if (*op + 1 + run > out_len) return false;
    out[(*op)++] = static_cast<unsigned char>(run - 1);
    std::memcpy(out + *op, in + start, run);
    *op += run;
    start += run;
  }
  return true;
}

bool emit_match(size_t length, size_t distance, unsigned char* out, size_t out_len, size_t* op) {
  size_t code = length - 2;
  size_t offset = distance - 1;
  size_t needed = code >= 7 ? 3 : 2;
  if (*op + needed > out_len) return false;
  out[(*op)++] = static_cast<unsigned char>((std::min<size_t>(code, 7) << 5) | (offset >> 8));
  if (code >= 7) out[(*op)++] = static_cast<unsigned char>(code - 7);
  out[(*op)++] = static_cast<unsigned char>(offset & 0xff);
  return true;
}

}  // namespace

size_t lzf_compress(const char* input, size_t in_len, char* output, size_t out_len) {
  // Positions of the last occurrence of each 3-byte hash. Never cleared between calls: a
  // stale entry is only a candidate, and every candidate is checked byte for byte.
  thread_local uint32_t table[size_t{1} << kHashBits] = {};
  const auto* in = reinterpret_cast<const unsigned char*>(input);
  auto* out = reinterpret_cast<unsigned char*>(output);
  size_t ip = 0;
  size_t op = 0;
  size_t literal_start = 0;
  while (ip + 2 < in_len) {
    uint32_t h = hash3(in + ip);
    size_t ref = table[h];
    table[h] = static_cast<uint32_t>(ip);
    if (ref < ip && ip - ref <= kMaxDistance && std::memcmp(in + ref, in + ip, 3) == 0) {
      size_t max_len = std::min(kMaxMatch, in_len - ip);
      size_t len = 3;
      while (len < max_len && in[ref + len] == in[ip + len]) len++;
      if (!emit_literals(in, literal_start, ip, out, out_len, &op)) return 0;
      if (!emit_match(len, ip - ref, out, out_len, &op)) return 0;
      ip += len;
      literal_start = ip;
      if (ip + 2 < in_len) table[hash3(in + ip - 1)] = static_cast<uint32_t>(ip - 1);
    } else {
      ip++;
    }
  }
  if (!emit_literals(in, literal_start, in_len, out, out_len, &op)) return 0;
  return op;
}

bool lzf_decompress(const char* input, size_t in_len, char* output, size_t out_len) {
  const auto* in = reinterpret_cast<const unsigned char*>(input);
  auto* out = reinterpret_cast<unsigned char*>(output);
  size_t ip = 0;
  size_t op = 0;
  while (ip < in_len) {
    size_t ctrl = in[ip++];
    if (ctrl < kMaxLiteral) {
      size_t run = ctrl + 1;
      if (ip + run > in_len || op + run > out_len) return false;
      std::memcpy(out + op, in + ip, run);
      ip += run;
      op += run;
      continue;
    }
    size_t len = ctrl >> 5;
    if (len == 7) {
      if (ip >= in_len) return false;
      len += in[ip++];
    }
    if (ip >= in_len) return false;
    size_t distance = ((ctrl & 0x1f) << 8) + in[ip++] + 1;
    len += 2;
    if (distance > op || op + len > out_len) return false;
    // Byte by byte: a reference may overlap the bytes it produces (runs).
    for (size_t i = 0; i < len; i++, op++) out[op] = out[op - distance];
  }
  return op == out_len;
}

}  // namespace rd::rdb
