// Unit tests for storage/bitops. Expected values for ranges and overflow modes were observed
// on Redis 7.0.15 (BITCOUNT, BITPOS, BITFIELD replies).
#include "storage/bitops.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <utility>
#include <string>

using namespace std::literals;

namespace rd {
namespace {

const unsigned char* u(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// Bit by bit, the obvious way: the reference for the word-at-a-time code.
int64_t slow_first_bit(std::string_view s, int bit) {
  for (size_t i = 0; i < s.size() * 8; i++) {
    if (((static_cast<unsigned char>(s[i / 8]) >> (7 - i % 8)) & 1) == bit) return static_cast<int64_t>(i);
  }
  return bit ? -1 : static_cast<int64_t>(s.size() * 8);
}

TEST_CASE("count_bits and first_bit") {
  CHECK(count_bits(u(""), 0) == 0);
  CHECK(count_bits(u("foobar"), 6) == 26);
  CHECK(count_bits(u("\xff\xff\xff\xff\xff\xff\xff\xff\xff"), 9) == 72);
  CHECK(first_bit(u("\xff\xf0\x00"), 3, 0) == 12);
  CHECK(first_bit(u("\x00\xff\xf0"), 3, 1) == 8);
  CHECK(first_bit(u("\x00\x00\x00"), 3, 1) == -1);
  CHECK(first_bit(u("\xff\xff\xff"), 3, 0) == 24);  // padded with zeros

  std::mt19937 random(7);
  for (int round = 0; round < 500; round++) {
    std::string s(random() % 40, '\0');
    for (char& c : s) {
      int kind = static_cast<int>(random() % 4);
      c = static_cast<char>(kind == 0 ? 0x00 : kind == 1 ? 0xff : random() % 256);
    }
    CHECK(first_bit(u(s), s.size(), 0) == slow_first_bit(s, 0));
    CHECK(first_bit(u(s), s.size(), 1) == slow_first_bit(s, 1));
  }
}

TEST_CASE("bitcount ranges in bytes and bits") {
  const std::string_view foobar = "foobar";
  CHECK(bitcount_range(foobar, {0, -1, false}) == 26);
  CHECK(bitcount_range(foobar, {0, 0, false}) == 4);
  CHECK(bitcount_range(foobar, {1, 1, false}) == 6);
  CHECK(bitcount_range(foobar, {5, 30, true}) == 17);
  CHECK(bitcount_range(foobar, {-3, -1, false}) == 10);  // "bar"
  CHECK(bitcount_range(foobar, {-1, -3, false}) == 0);   // both negative, reversed
  CHECK(bitcount_range(foobar, {-100, -90, false}) == 4);  // clamps to byte 0
  CHECK(bitcount_range(foobar, {3, 1, false}) == 0);
  CHECK(bitcount_range(foobar, {100, 200, false}) == 0);
  CHECK(bitcount_range(""sv, {0, -1, false}) == 0);
  CHECK(bitcount_range("\xff"sv, {1, 1, true}) == 1);
  CHECK(bitcount_range("\xff\xff"sv, {3, 12, true}) == 10);
}

TEST_CASE("bitpos ranges") {
  CHECK(bitpos_range("\xff\xf0\x00"sv, 0, {0, -1, false}, false) == 12);
  CHECK(bitpos_range("\x00\xff\xf0"sv, 1, {0, -1, false}, false) == 8);
  CHECK(bitpos_range("\x00\xff\xf0"sv, 1, {2, -1, false}, false) == 16);
  CHECK(bitpos_range("\x00\x00\x00"sv, 1, {0, -1, false}, false) == -1);
  CHECK(bitpos_range("\xff\xff\xff"sv, 0, {0, -1, false}, false) == 24);
  CHECK(bitpos_range("\xff\xff\xff"sv, 0, {1, -1, false}, false) == 24);
  CHECK(bitpos_range("\xff\xff\xff"sv, 0, {0, -1, false}, true) == -1);  // explicit end
  CHECK(bitpos_range(""sv, 0, {0, -1, false}, false) == -1);             // empty string
  CHECK(bitpos_range("\x00\xff"sv, 1, {7, 15, true}, true) == 8);
  CHECK(bitpos_range("\x00\xff"sv, 1, {2, 6, true}, true) == -1);
  CHECK(bitpos_range("\xff\x7f"sv, 0, {3, 9, true}, true) == 8);
  CHECK(bitpos_range("\xff\xff"sv, 0, {3, 9, true}, true) == -1);
  CHECK(bitpos_range("\xff\x00"sv, 0, {2, 1, false}, true) == -1);
}

// The bits of `s` from bit `from` to `to` (inclusive), one by one.
int64_t slow_count(std::string_view s, int64_t from, int64_t to) {
  int64_t n = 0;
  for (int64_t i = from; i <= to; i++) n += (static_cast<unsigned char>(s[i / 8]) >> (7 - i % 8)) & 1;
  return n;
}

TEST_CASE("bitcount and bitpos agree with a bit-by-bit count on random ranges") {
  std::mt19937 random(11);
  for (int round = 0; round < 2000; round++) {
    std::string s(1 + random() % 30, '\0');
    for (char& c : s) c = static_cast<char>(random() % 4 == 0 ? 0xff : random() % 4 == 0 ? 0 : random() % 256);
    const int64_t bits = static_cast<int64_t>(s.size()) * 8;
    int64_t start = static_cast<int64_t>(random() % bits);
    int64_t end = static_cast<int64_t>(random() % bits);
    if (start > end) std::swap(start, end);
    CHECK(bitcount_range(s, {start, end, true}) == slow_count(s, start, end));
    CHECK(bitcount_range(s, {start / 8, end / 8, false}) == slow_count(s, start / 8 * 8, end / 8 * 8 + 7));
    for (int bit = 0; bit <= 1; bit++) {
      int64_t expected = -1;
      for (int64_t i = start; i <= end && expected < 0; i++) {
        if (((static_cast<unsigned char>(s[i / 8]) >> (7 - i % 8)) & 1) == bit) expected = i;
      }
      CHECK(bitpos_range(s, bit, {start, end, true}, true) == expected);
    }
  }
}

TEST_CASE("bitop") {
  CHECK(bitop(BitOp::kAnd, {"\xff\x0f"sv, "\x0f"sv}) == "\x0f\x00"s);
  CHECK(bitop(BitOp::kOr, {"\xf0"sv, "\x0f\x01"sv}) == "\xff\x01"s);
  CHECK(bitop(BitOp::kXor, {"\xff"sv, "\x0f"sv, "\x01"sv}) == "\xf1"s);
  CHECK(bitop(BitOp::kNot, {"\x0f\x00"sv}) == "\xf0\xff"s);
  CHECK(bitop(BitOp::kAnd, {""sv, ""sv}).empty());
}

TEST_CASE("bitfield reads and writes") {
  std::string s(3, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(s.data());
  write_field(bytes, 5, 8, 0xab);
  CHECK(read_unsigned_field(bytes, s.size(), 5, 8) == 0xab);
  CHECK(read_signed_field(bytes, s.size(), 5, 8) == -85);
  CHECK(read_unsigned_field(bytes, s.size(), 0, 5) == 0);
  CHECK(read_unsigned_field(bytes, s.size(), 20, 64) == 0);  // past the end reads zeros
  write_field(bytes, 0, 1, 1);
  CHECK(static_cast<unsigned char>(s[0]) == 0x85);
  std::string wide(9, '\0');
  auto* w = reinterpret_cast<unsigned char*>(wide.data());
  write_field(w, 3, 64, 0x8000000000000001ULL);
  CHECK(read_signed_field(w, wide.size(), 3, 64) == INT64_MIN + 1);
  CHECK(read_unsigned_field(w, wide.size(), 3, 63) == 0x4000000000000000ULL);
}

TEST_CASE("signed overflow modes") {
  int64_t r = 0;
  CHECK_FALSE(signed_field_add(100, 27, 8, Overflow::kWrap, &r));
  CHECK(r == 127);
  CHECK(signed_field_add(100, 28, 8, Overflow::kWrap, &r));
  CHECK(r == -128);
  CHECK(signed_field_add(100, 28, 8, Overflow::kSat, &r));
  CHECK(r == 127);
  CHECK(signed_field_add(-100, -29, 8, Overflow::kSat, &r));
  CHECK(r == -128);
  CHECK(signed_field_add(-100, -29, 8, Overflow::kWrap, &r));
  CHECK(r == 127);
  CHECK(signed_field_add(INT64_MAX, 1, 64, Overflow::kWrap, &r));
  CHECK(r == INT64_MIN);
  CHECK(signed_field_add(INT64_MIN, -1, 64, Overflow::kSat, &r));
  CHECK(r == INT64_MIN);
  CHECK(signed_field_add(1000, 0, 8, Overflow::kWrap, &r));  // SET of an out-of-range value
  CHECK(r == -24);
  // Observed on Redis: values near INT64_MIN saturate upwards in narrow fields.
  CHECK(signed_field_add(INT64_MIN, 0, 8, Overflow::kSat, &r));
  CHECK(r == 127);
  CHECK(signed_field_add(-4611686018427387905LL, 0, 63, Overflow::kSat, &r));
  CHECK(r == 4611686018427387903LL);
  CHECK(signed_field_add(-1000, 0, 8, Overflow::kSat, &r));
  CHECK(r == -128);
  CHECK(signed_field_add(INT64_MIN, 0, 63, Overflow::kWrap, &r));
  CHECK(r == 0);
}

TEST_CASE("unsigned overflow modes") {
  uint64_t r = 0;
  CHECK_FALSE(unsigned_field_add(250, 5, 8, Overflow::kWrap, &r));
  CHECK(r == 255);
  CHECK(unsigned_field_add(250, 10, 8, Overflow::kWrap, &r));
  CHECK(r == 4);
  CHECK(unsigned_field_add(250, 10, 8, Overflow::kSat, &r));
  CHECK(r == 255);
  CHECK(unsigned_field_add(5, -10, 8, Overflow::kSat, &r));
  CHECK(r == 0);
  CHECK(unsigned_field_add(5, -10, 8, Overflow::kWrap, &r));
  CHECK(r == 251);
  CHECK(unsigned_field_add(static_cast<uint64_t>(-1), 0, 8, Overflow::kWrap, &r));  // SET -1
  CHECK(r == 255);
  CHECK(unsigned_field_add(static_cast<uint64_t>(-1), 0, 8, Overflow::kSat, &r));
  CHECK(r == 255);
  CHECK(unsigned_field_add(1, INT64_MAX, 63, Overflow::kSat, &r));
  CHECK(r == static_cast<uint64_t>(INT64_MAX));
  CHECK_FALSE(unsigned_field_add(0, INT64_MAX, 63, Overflow::kFail, &r));
  CHECK(unsigned_field_add(2, 0, 1, Overflow::kFail, &r));
}

}  // namespace
}  // namespace rd
