// LZF, the compression the RDB format uses for strings, written from the format description:
// a stream of literal runs (control byte 0..31 = run length - 1, then the bytes) and back
// references (3 high bits = match length - 2, 7 meaning "one more length byte follows",
// 5 low bits + next byte = distance - 1, distances up to 8 KB, lengths up to 264).
//
// The compressor makes the same choices as liblzf 3.6 as Redis builds it (a 2^16-slot table
// of the last position of each 3-byte hash, greedy matches, the two positions before the end
// of a match re-hashed, the same hash function and the same "output full" tests), so that our
// RDB strings and DUMP payloads are byte-identical to Redis's. Redis leaves its table
// uninitialized; ours starts empty for every input, which is what Redis's is in effect unless
// stale slots happen to point at matching bytes.
#include <cstring>
#include <memory>

#include "storage/rdb_codec.h"

namespace rd::rdb {
namespace {

constexpr unsigned kHashLog = 16;
constexpr size_t kHashSize = size_t{1} << kHashLog;
constexpr size_t kMaxLiteral = 32;
constexpr size_t kMaxOffset = 8192;
constexpr size_t kMaxMatch = 264;  // 2 + 7 + 255

// The slot of the 3 bytes whose big-endian value is `v` (liblzf's "very fast" hash).
inline size_t slot(uint32_t v) { return ((v >> (24 - kHashLog)) - v * 5) & (kHashSize - 1); }

// Per-thread table of positions (256 KB). Entries are "generation + position": an entry below
// the current input's generation belongs to an earlier input and counts as empty, so the table
// is cleared only when the generations wrap 32 bits. Allocated on first use (few threads
// ever compress).
struct HashTable {
  uint32_t entries[kHashSize] = {};
  uint64_t generation = 1;
};

}  // namespace

size_t lzf_compress(const char* input, size_t in_len, char* output, size_t out_len) {
  if (in_len == 0 || out_len == 0) return 0;
  thread_local std::unique_ptr<HashTable> table;
  if (table == nullptr) table = std::make_unique<HashTable>();
  HashTable& t = *table;
  if (t.generation + in_len + 1 > UINT32_MAX) {  // positions must fit the 32-bit entries
    std::memset(t.entries, 0, sizeof(t.entries));
    t.generation = 1;
  }
  if (in_len + 2 > UINT32_MAX) return 0;  // (RDB strings are at most 512 MB)
  const uint64_t gen = t.generation;
  t.generation += in_len + 1;
  // Position of the last occurrence of a hash, or 0 ("none": position 0 is never referenced,
  // as in liblzf, which requires a reference strictly after the start).
  auto lookup = [&](size_t s) -> size_t { return t.entries[s] >= gen ? static_cast<size_t>(t.entries[s] - gen) : 0; };
  auto store = [&](size_t s, size_t pos) { t.entries[s] = static_cast<uint32_t>(gen + pos); };

  const auto* in = reinterpret_cast<const unsigned char*>(input);
  auto* out = reinterpret_cast<unsigned char*>(output);
  size_t ip = 0;
  size_t op = 1;  // out[0] is the control byte of the first literal run
  size_t lit = 0;
  uint32_t hval = (uint32_t{in[0]} << 8) | (in_len > 1 ? in[1] : 0);
  while (in_len >= 3 && ip < in_len - 2) {
    hval = (hval << 8) | in[ip + 2];
    const size_t s = slot(hval);
    const size_t ref = lookup(s);
    store(s, ip);
    if (ref > 0 && ref < ip && ip - ref - 1 < kMaxOffset && in[ref] == in[ip] && in[ref + 1] == in[ip + 1] &&
        in[ref + 2] == in[ip + 2]) {
      const size_t off = ip - ref - 1;
      size_t maxlen = in_len - ip - 2;
      if (maxlen > kMaxMatch) maxlen = kMaxMatch;
      // Room for the match (3 bytes) and the next control byte.
      if (op + 4 >= out_len && op - (lit == 0 ? 1 : 0) + 4 >= out_len) return 0;
      out[op - lit - 1] = static_cast<unsigned char>(lit - 1);  // close the literal run
      if (lit == 0) op--;                                        // (or drop an empty one)
      // Match length, compared as liblzf does: when more than 16 bytes may match, the first
      // 16 comparisons are made without the length limit, so a match can run up to 2 bytes
      // past it (to the very end of the input).
      size_t len = 2;
      bool mismatch = false;
      if (maxlen > 16) {
        for (int i = 0; i < 16 && !mismatch; i++) {
          len++;
          mismatch = in[ref + len] != in[ip + len];
        }
      }
      if (!mismatch) {
        do {
          len++;
        } while (len < maxlen && in[ref + len] == in[ip + len]);
      }
      len -= 2;  // what the format stores: bytes - 2
      if (len < 7) {
        out[op++] = static_cast<unsigned char>((off >> 8) + (len << 5));
      } else {
        out[op++] = static_cast<unsigned char>((off >> 8) + (7 << 5));
        out[op++] = static_cast<unsigned char>(len - 7);
      }
      out[op++] = static_cast<unsigned char>(off & 0xff);
      lit = 0;
      op++;  // the next literal run's control byte
      ip += len + 2;
      if (ip >= in_len - 2) break;
      // Hash the two positions just before the new one.
      ip -= 2;
      hval = (uint32_t{in[ip]} << 8) | in[ip + 1];
      hval = (hval << 8) | in[ip + 2];
      store(slot(hval), ip);
      ip++;
      hval = (hval << 8) | in[ip + 2];
      store(slot(hval), ip);
      ip++;
    } else {
      if (op >= out_len) return 0;
      lit++;
      out[op++] = in[ip++];
      if (lit == kMaxLiteral) {
        out[op - lit - 1] = static_cast<unsigned char>(lit - 1);
        lit = 0;
        op++;
      }
    }
  }
  if (op + 3 > out_len) return 0;  // at most 3 more bytes are needed below
  while (ip < in_len) {
    lit++;
    out[op++] = in[ip++];
    if (lit == kMaxLiteral) {
      out[op - lit - 1] = static_cast<unsigned char>(lit - 1);
      lit = 0;
      op++;
    }
  }
  out[op - lit - 1] = static_cast<unsigned char>(lit - 1);
  if (lit == 0) op--;
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
