// Bit-level helpers behind SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP and BITFIELD. A string is
// a big-endian bit array: bit 0 is the most significant bit of byte 0, as in Redis.
//
// Pure functions over bytes: no keyspace, no replies, so they are unit tested on their own
// (bitops_test.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rd {

// ---- counting and searching ----

// Number of set bits in `length` bytes.
uint64_t count_bits(const unsigned char* bytes, size_t length);

// The first bit equal to `bit` (0 or 1) in `length` bytes, as a bit index from bytes[0].
// Not found: -1 when looking for a 1; length * 8 when looking for a 0 (the bytes are thought of
// as followed by zeros, which is what BITPOS without an explicit end reports).
int64_t first_bit(const unsigned char* bytes, size_t length, int bit);

// A BITCOUNT/BITPOS range as the user gave it: indexes of bytes (or of bits when `in_bits`),
// negative ones counting from the end.
struct BitRange {
  int64_t start = 0;
  int64_t end = -1;
  bool in_bits = false;
};

// BITCOUNT key start end [BYTE|BIT] over `text`.
int64_t bitcount_range(std::string_view text, const BitRange& range);

// BITPOS key bit start [end [BYTE|BIT]] over `text`. Without an explicit end (`end_given`
// false, range.end ignored) a search for 0 that finds none reports the bit just past the
// string; with one it reports -1.
int64_t bitpos_range(std::string_view text, int bit, const BitRange& range, bool end_given);

// ---- BITOP ----

enum class BitOp { kAnd, kOr, kXor, kNot };

// Combines `sources` byte by byte; shorter sources count as zero-padded. The result has the
// length of the longest source (NOT takes exactly one source).
std::string bitop(BitOp op, const std::vector<std::string_view>& sources);

// ---- BITFIELD ----

// Reads `bits` (1..64) bits at bit `offset`; bytes past `length` read as zero.
uint64_t read_unsigned_field(const unsigned char* bytes, size_t length, uint64_t offset, int bits);
// The same, sign-extended from the field's top bit.
int64_t read_signed_field(const unsigned char* bytes, size_t length, uint64_t offset, int bits);
// Writes the low `bits` bits of `value` at bit `offset`. REQUIRES: the bytes cover the field.
void write_field(unsigned char* bytes, uint64_t offset, int bits, uint64_t value);

enum class Overflow { kWrap, kSat, kFail };

// value + increment for a `bits`-wide field (SET is an increment of 0 from the new value).
// Returns whether the true sum falls outside the field's range; *result is then the wrapped
// (two's complement truncation) or saturated value as `mode` says (unspecified for kFail),
// else the sum itself.
bool signed_field_add(int64_t value, int64_t increment, int bits, Overflow mode, int64_t* result);
bool unsigned_field_add(uint64_t value, int64_t increment, int bits, Overflow mode, uint64_t* result);

}  // namespace rd
