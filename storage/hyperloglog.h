// HyperLogLog values in Redis's own binary string format, so that HLLs move freely between
// this server and Redis (RDB, DUMP/RESTORE, GET/SET) and PFADD sequences yield the same bytes.
//
// Layout (16-byte header, then the registers):
//   "HYLL" | encoding (0 dense, 1 sparse) | 3 unused bytes | cached cardinality (8 bytes,
//   little-endian; the top bit of the last byte set means "stale, recompute").
// 16384 registers (the low 14 bits of the element's MurmurHash64A pick one), each holding the
// position of the first set bit in the remaining 50 bits (1..51).
//   dense:  6 bits per register, register i at bit i*6, least significant bits first.
//   sparse: a run-length stream of opcodes:
//     00xxxxxx          ZERO: xxxxxx+1 (1..64) registers at 0
//     01xxxxxx yyyyyyyy XZERO: the 14-bit number+1 (1..16384) registers at 0
//     1vvvvvxx          VAL: xx+1 (1..4) registers at vvvvv+1 (1..32)
// A sparse HLL is rewritten in place by each update (splitting and re-merging runs exactly as
// Redis does) and promoted to dense when a value exceeds 32 or when it would outgrow
// hll-sparse-max-bytes.
//
// Not thread-safe: the strings are values of the keyspace, guarded by its lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rd::hll {

inline constexpr size_t kPrecision = 14;
inline constexpr size_t kRegisters = size_t{1} << kPrecision;  // 16384
inline constexpr size_t kHeaderSize = 16;
inline constexpr size_t kDenseRegisterBytes = (kRegisters * 6 + 7) / 8;  // 12288
inline constexpr size_t kDenseSize = kHeaderSize + kDenseRegisterBytes;
inline constexpr uint8_t kEncodingDense = 0;
inline constexpr uint8_t kEncodingSparse = 1;

// The hash Redis uses for elements: MurmurHash64A with seed 0xadc83b19.
uint64_t murmurhash64a(const void* data, size_t length, uint64_t seed);

// Redis's validity test for a string used as an HLL: long enough for the header, "HYLL",
// a known encoding, and the exact size when dense.
bool is_valid(std::string_view value);
uint8_t encoding(std::string_view value);

// A new empty HLL: sparse (one XZERO run), cached cardinality 0.
std::string create();

// The register an element maps to and the value it proposes (1..51).
void element_position(std::string_view element, size_t* index, uint8_t* count);

// Adds an element. Returns 1 when a register grew, 0 when nothing changed, -1 when the value
// is corrupted. REQUIRES: is_valid(*hll).
int add(std::string* hll, std::string_view element, size_t sparse_max_bytes);
// Raises register `index` to `count` if it is lower (PFMERGE). Same return values as add().
int set_register(std::string* hll, size_t index, uint8_t count, size_t sparse_max_bytes);

// Converts a sparse HLL to dense (header and cached cardinality kept). No-op when dense.
// False when the sparse data is corrupted (the value is left unchanged).
bool to_dense(std::string* hll);

// max[i] = MAX(max[i], register i) for every register. False when corrupted.
bool merge_into(std::string_view hll, uint8_t* max);

// The estimated cardinality. False when corrupted.
bool count(std::string_view hll, uint64_t* out);
// The same for a plain array of kRegisters registers (PFCOUNT of several keys).
uint64_t count_registers(const uint8_t* registers);

// The cached cardinality in the header.
bool cache_valid(std::string_view hll);
uint64_t cached(std::string_view hll);
void set_cache(std::string* hll, uint64_t card);
void invalidate_cache(std::string* hll);

// One register of a dense register block.
uint8_t dense_get(const uint8_t* registers, size_t index);
void dense_set(uint8_t* registers, size_t index, uint8_t value);

// PFDEBUG DECODE: the opcodes of a sparse HLL as "z:len", "Z:len", "v:value,len".
std::string decode_sparse(std::string_view hll);

}  // namespace rd::hll
