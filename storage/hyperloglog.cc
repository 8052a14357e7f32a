// HyperLogLog in Redis's string format (see hyperloglog.h for the layout). The sparse update
// reproduces Redis's in-place rewrite step by step (split the run holding the register into
// at most five opcodes, then merge equal neighbouring values), because the resulting bytes are
// visible to clients (GET, DUMP) and must be the same as Redis's.
#include "storage/hyperloglog.h"

#include <bit>
#include <cmath>
#include <cstring>

namespace rd::hll {
namespace {

constexpr uint64_t kHashSeed = 0xadc83b19ULL;
constexpr size_t kMaxCount = 64 - kPrecision + 1;  // 51: the largest value a hash can give
constexpr uint8_t kSparseValMax = 32;
constexpr size_t kSparseValMaxLen = 4;
constexpr size_t kSparseZeroMaxLen = 64;
constexpr size_t kSparseXZeroMaxLen = 16384;
constexpr double kAlphaInf = 0.721347520444481703680;  // 1 / (2 ln 2)

// ---- sparse opcodes ----
bool op_is_zero(uint8_t b) { return (b & 0xc0) == 0x00; }
bool op_is_xzero(uint8_t b) { return (b & 0xc0) == 0x40; }
bool op_is_val(uint8_t b) { return (b & 0x80) != 0; }
size_t zero_len(uint8_t b) { return (b & 0x3f) + 1u; }
size_t xzero_len(uint8_t b0, uint8_t b1) { return ((size_t{b0 & 0x3fu} << 8) | b1) + 1; }
uint8_t val_value(uint8_t b) { return static_cast<uint8_t>(((b >> 2) & 0x1f) + 1); }
size_t val_len(uint8_t b) { return (b & 0x3u) + 1; }
uint8_t make_zero(size_t len) { return static_cast<uint8_t>(len - 1); }
uint8_t make_val(uint8_t value, size_t len) {
  return static_cast<uint8_t>(0x80 | ((value - 1) << 2) | (len - 1));
}
// Appends a run of zeros of `len` (1..16384) as ZERO or XZERO, as Redis chooses.
size_t put_zeros(uint8_t* out, size_t len) {
  if (len > kSparseZeroMaxLen) {
    out[0] = static_cast<uint8_t>(0x40 | ((len - 1) >> 8));
    out[1] = static_cast<uint8_t>((len - 1) & 0xff);
    return 2;
  }
  out[0] = make_zero(len);
  return 1;
}

uint8_t* bytes(std::string* s) { return reinterpret_cast<uint8_t*>(s->data()); }
const uint8_t* bytes(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// The second byte of an XZERO opcode at `p`; past the end reads 0 (what Redis reads there:
// the terminator of its string, which std::string also guarantees).
uint8_t second_byte(const uint8_t* data, size_t p, size_t end) { return p + 1 < end ? data[p + 1] : 0; }

// Calls run(value, length) for each opcode of a sparse HLL in order. Stops early (returning
// false) when run() does.
template <typename F>
void walk_sparse(std::string_view hll, F&& run) {
  const uint8_t* data = bytes(hll);
  const size_t end = hll.size();
  size_t p = kHeaderSize;
  while (p < end) {
    const uint8_t op = data[p];
    if (op_is_zero(op)) {
      if (!run(uint8_t{0}, zero_len(op))) return;
      p++;
    } else if (op_is_xzero(op)) {
      if (!run(uint8_t{0}, xzero_len(op, second_byte(data, p, end)))) return;
      p += 2;
    } else {
      if (!run(val_value(op), val_len(op))) return;
      p++;
    }
  }
}

// Ertl's sigma and tau functions ("New cardinality estimation algorithms for HyperLogLog
// sketches", arXiv:1702.01284), iterated until the sum stops changing.
double sigma(double x) {
  if (x == 1.0) return INFINITY;
  double y = 1.0;
  double z = x;
  double previous;
  do {
    x *= x;
    previous = z;
    z += x * y;
    y += y;
  } while (previous != z);
  return z;
}

double tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0;
  double z = 1.0 - x;
  double previous;
  do {
    x = std::sqrt(x);
    previous = z;
    y *= 0.5;
    z -= std::pow(1.0 - x, 2) * y;
  } while (previous != z);
  return z / 3.0;
}

// The improved raw estimator from a histogram of register values.
uint64_t estimate(const int* histogram) {
  const double m = static_cast<double>(kRegisters);
  double z = m * tau((m - histogram[kMaxCount]) / m);
  for (size_t j = kMaxCount - 1; j >= 1; j--) {
    z += histogram[j];
    z *= 0.5;
  }
  z += m * sigma(histogram[0] / m);
  return static_cast<uint64_t>(std::llround(kAlphaInf * m * m / z));
}

int dense_raise(uint8_t* registers, size_t index, uint8_t count) {
  if (count <= dense_get(registers, index)) return 0;
  dense_set(registers, index, count);
  return 1;
}

// Sparse to dense, then the register update that did not fit the sparse form.
int promote(std::string* hll, size_t index, uint8_t count) {
  if (!to_dense(hll)) return -1;
  dense_raise(bytes(hll) + kHeaderSize, index, count);
  return 1;
}

int sparse_set(std::string* hll, size_t index, uint8_t count, size_t sparse_max_bytes) {
  if (count > kSparseValMax) return promote(hll, index, count);

  // 1. The opcode whose run covers `index`, the registers it starts at, and the opcode before.
  uint8_t* data = bytes(hll);
  const size_t end = hll->size();
  constexpr size_t kNone = static_cast<size_t>(-1);
  size_t p = kHeaderSize;
  size_t prev = kNone;
  size_t first = 0;
  size_t span = 0;
  size_t oplen = 1;
  bool found = false;
  while (p < end) {
    const uint8_t op = data[p];
    oplen = 1;
    if (op_is_zero(op)) {
      span = zero_len(op);
    } else if (op_is_val(op)) {
      span = val_len(op);
    } else {
      span = xzero_len(op, second_byte(data, p, end));
      oplen = 2;
    }
    if (index <= first + span - 1) {
      found = true;
      break;
    }
    prev = p;
    p += oplen;
    first += span;
  }
  if (!found || p + oplen > end) return -1;

  const uint8_t op = data[p];
  const bool is_val = op_is_val(op);
  bool in_place = false;
  if (is_val) {
    if (val_value(op) >= count) return 0;  // the register already holds as much
    in_place = span == 1;
  } else if (op_is_zero(op) && span == 1) {
    in_place = true;
  }

  if (in_place) {
    data[p] = make_val(count, 1);
  } else {
    // 2. Split the run: [registers before][the new value][registers after].
    uint8_t seq[5];
    size_t n = 0;
    const size_t last = first + span - 1;
    if (!is_val) {
      if (index != first) n += put_zeros(seq + n, index - first);
      seq[n++] = make_val(count, 1);
      if (index != last) n += put_zeros(seq + n, last - index);
    } else {
      const uint8_t current = val_value(op);
      if (index != first) seq[n++] = make_val(current, index - first);
      seq[n++] = make_val(count, 1);
      if (index != last) seq[n++] = make_val(current, last - index);
    }
    if (n > oplen && hll->size() + (n - oplen) > sparse_max_bytes) return promote(hll, index, count);
    hll->replace(p, oplen, reinterpret_cast<const char*>(seq), n);
    data = bytes(hll);
  }

  // 3. Merge equal adjacent values (up to the VAL opcode's maximum length), looking at no more
  // than five opcodes from the one before the change.
  size_t q = prev == kNone ? kHeaderSize : prev;
  size_t stop = hll->size();
  int budget = 5;
  while (q < stop && budget-- > 0) {
    const uint8_t a = data[q];
    if (op_is_xzero(a)) {
      q += 2;
      continue;
    }
    if (op_is_zero(a)) {
      q++;
      continue;
    }
    if (q + 1 < stop && op_is_val(data[q + 1])) {
      const uint8_t b = data[q + 1];
      if (val_value(a) == val_value(b)) {
        const size_t len = val_len(a) + val_len(b);
        if (len <= kSparseValMaxLen) {
          data[q + 1] = make_val(val_value(a), len);
          hll->erase(q, 1);
          data = bytes(hll);
          stop--;
          continue;  // the merged opcode may merge again with the next one
        }
      }
    }
    q++;
  }
  invalidate_cache(hll);
  return 1;
}

}  // namespace

uint64_t murmurhash64a(const void* key, size_t length, uint64_t seed) {
  constexpr uint64_t m = 0xc6a4a7935bd1e995ULL;
  constexpr int r = 47;
  uint64_t h = seed ^ (static_cast<uint64_t>(length) * m);
  const auto* data = static_cast<const uint8_t*>(key);
  const uint8_t* blocks_end = data + (length & ~size_t{7});
  while (data != blocks_end) {
    uint64_t k = 0;
    for (int i = 0; i < 8; i++) k |= uint64_t{data[i]} << (8 * i);
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
    data += 8;
  }
  const size_t tail = length & 7;
  if (tail > 0) {
    for (size_t i = tail; i-- > 0;) h ^= uint64_t{data[i]} << (8 * i);
    h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

uint8_t encoding(std::string_view value) { return static_cast<uint8_t>(value[4]); }

bool is_valid(std::string_view value) {
  if (value.size() < kHeaderSize) return false;
  if (value.substr(0, 4) != "HYLL") return false;
  const uint8_t enc = encoding(value);
  if (enc > kEncodingSparse) return false;
  return enc != kEncodingDense || value.size() == kDenseSize;
}

std::string create() {
  std::string out(kHeaderSize, '\0');
  std::memcpy(out.data(), "HYLL", 4);
  out[4] = static_cast<char>(kEncodingSparse);
  size_t remaining = kRegisters;
  while (remaining > 0) {
    const size_t run = remaining < kSparseXZeroMaxLen ? remaining : kSparseXZeroMaxLen;
    uint8_t op[2];
    out.append(reinterpret_cast<const char*>(op), put_zeros(op, run));
    remaining -= run;
  }
  return out;
}

void element_position(std::string_view element, size_t* index, uint8_t* count) {
  uint64_t hash = murmurhash64a(element.data(), element.size(), kHashSeed);
  *index = static_cast<size_t>(hash & (kRegisters - 1));
  hash >>= kPrecision;
  hash |= uint64_t{1} << (64 - kPrecision);  // bounds the count to 51
  *count = static_cast<uint8_t>(std::countr_zero(hash) + 1);
}

int set_register(std::string* hll, size_t index, uint8_t count, size_t sparse_max_bytes) {
  if (encoding(*hll) == kEncodingDense) return dense_raise(bytes(hll) + kHeaderSize, index, count);
  return sparse_set(hll, index, count, sparse_max_bytes);
}

int add(std::string* hll, std::string_view element, size_t sparse_max_bytes) {
  size_t index = 0;
  uint8_t count = 0;
  element_position(element, &index, &count);
  return set_register(hll, index, count, sparse_max_bytes);
}

bool to_dense(std::string* hll) {
  if (encoding(*hll) == kEncodingDense) return true;
  std::string dense(kDenseSize, '\0');
  std::memcpy(dense.data(), hll->data(), kHeaderSize);  // magic and cached cardinality
  dense[4] = static_cast<char>(kEncodingDense);
  uint8_t* registers = bytes(&dense) + kHeaderSize;
  size_t index = 0;
  walk_sparse(*hll, [&](uint8_t value, size_t len) {
    if (value == 0) {
      index += len;
      return true;
    }
    if (index + len > kRegisters) return false;
    for (size_t i = 0; i < len; i++) dense_set(registers, index++, value);
    return true;
  });
  if (index != kRegisters) return false;
  *hll = std::move(dense);
  return true;
}

bool merge_into(std::string_view hll, uint8_t* max) {
  if (encoding(hll) == kEncodingDense) {
    const uint8_t* registers = bytes(hll) + kHeaderSize;
    for (size_t i = 0; i < kRegisters; i++) {
      const uint8_t v = dense_get(registers, i);
      if (v > max[i]) max[i] = v;
    }
    return true;
  }
  size_t index = 0;
  walk_sparse(hll, [&](uint8_t value, size_t len) {
    if (value == 0) {
      index += len;
      return true;
    }
    if (index + len > kRegisters) return false;
    for (size_t i = 0; i < len; i++, index++) {
      if (value > max[index]) max[index] = value;
    }
    return true;
  });
  return index == kRegisters;
}

bool count(std::string_view hll, uint64_t* out) {
  int histogram[64] = {};
  if (encoding(hll) == kEncodingDense) {
    const uint8_t* registers = bytes(hll) + kHeaderSize;
    for (size_t i = 0; i < kRegisters; i++) histogram[dense_get(registers, i)]++;
  } else {
    size_t index = 0;
    walk_sparse(hll, [&](uint8_t value, size_t len) {
      index += len;
      histogram[value] += static_cast<int>(len);
      return true;
    });
    if (index != kRegisters) return false;
  }
  *out = estimate(histogram);
  return true;
}

uint64_t count_registers(const uint8_t* registers) {
  int histogram[64] = {};
  for (size_t i = 0; i < kRegisters; i++) histogram[registers[i] & 63]++;
  return estimate(histogram);
}

bool cache_valid(std::string_view hll) { return (static_cast<uint8_t>(hll[15]) & 0x80) == 0; }

uint64_t cached(std::string_view hll) {
  uint64_t card = 0;
  for (int i = 0; i < 8; i++) card |= uint64_t{static_cast<uint8_t>(hll[8 + i])} << (8 * i);
  return card;
}

void set_cache(std::string* hll, uint64_t card) {
  for (int i = 0; i < 8; i++) (*hll)[8 + static_cast<size_t>(i)] = static_cast<char>((card >> (8 * i)) & 0xff);
}

void invalidate_cache(std::string* hll) { (*hll)[15] = static_cast<char>(static_cast<uint8_t>((*hll)[15]) | 0x80); }

uint8_t dense_get(const uint8_t* registers, size_t index) {
  const size_t bit = index * 6;
  const size_t byte = bit / 8;
  const unsigned shift = bit % 8;
  unsigned value = registers[byte] >> shift;
  if (shift > 2) value |= static_cast<unsigned>(registers[byte + 1]) << (8 - shift);
  return static_cast<uint8_t>(value & 63);
}

void dense_set(uint8_t* registers, size_t index, uint8_t value) {
  const size_t bit = index * 6;
  const size_t byte = bit / 8;
  const unsigned shift = bit % 8;
  registers[byte] = static_cast<uint8_t>((registers[byte] & ~(63u << shift)) | (unsigned{value} << shift));
  if (shift > 2) {
    const unsigned spill = 8 - shift;
    registers[byte + 1] =
        static_cast<uint8_t>((registers[byte + 1] & ~(63u >> spill)) | (unsigned{value} >> spill));
  }
}

std::string decode_sparse(std::string_view hll) {
  std::string out;
  const uint8_t* data = bytes(hll);
  const size_t end = hll.size();
  size_t p = kHeaderSize;
  while (p < end) {
    const uint8_t op = data[p];
    if (!out.empty()) out += ' ';
    if (op_is_zero(op)) {
      out += "z:" + std::to_string(zero_len(op));
      p++;
    } else if (op_is_xzero(op)) {
      out += "Z:" + std::to_string(xzero_len(op, second_byte(data, p, end)));
      p += 2;
    } else {
      out += "v:" + std::to_string(val_value(op)) + "," + std::to_string(val_len(op));
      p++;
    }
  }
  return out;
}

}  // namespace rd::hll
