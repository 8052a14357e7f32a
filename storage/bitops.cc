#include "storage/bitops.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace rd {

namespace {

int bit_at(const unsigned char* bytes, uint64_t index) { return (bytes[index >> 3] >> (7 - (index & 7))) & 1; }

// Converts a user range (negative = from the end) into inclusive indexes within [0, total).
// Returns false when it is empty.
bool resolve_range(int64_t total, int64_t* start, int64_t* end) {
  if (*start < 0) *start += total;
  if (*end < 0) *end += total;
  if (*start < 0) *start = 0;
  if (*end < 0) *end = 0;
  if (*end >= total) *end = total - 1;
  return *start <= *end;
}

// The first bit equal to `bit` between bit indexes `from` and `to` (inclusive), or -1.
int64_t find_bit_between(const unsigned char* bytes, uint64_t from, uint64_t to, int bit) {
  uint64_t i = from;
  for (; i <= to && (i & 7) != 0; i++) {
    if (bit_at(bytes, i) == bit) return static_cast<int64_t>(i);
  }
  const uint64_t whole_end = (to + 1) & ~uint64_t{7};  // where a trailing partial byte starts
  if (i < whole_end) {
    const size_t length = static_cast<size_t>((whole_end - i) >> 3);
    int64_t found = first_bit(bytes + (i >> 3), length, bit);
    if (found >= 0 && found < static_cast<int64_t>(length * 8)) return static_cast<int64_t>(i) + found;
    i = whole_end;
  }
  for (; i <= to; i++) {
    if (bit_at(bytes, i) == bit) return static_cast<int64_t>(i);
  }
  return -1;
}

}  // namespace

uint64_t count_bits(const unsigned char* bytes, size_t length) {
  uint64_t count = 0;
  size_t i = 0;
  for (; i + 8 <= length; i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes + i, 8);
    count += static_cast<uint64_t>(std::popcount(word));
  }
  for (; i < length; i++) count += static_cast<uint64_t>(std::popcount(static_cast<unsigned>(bytes[i])));
  return count;
}

int64_t first_bit(const unsigned char* bytes, size_t length, int bit) {
  // Bytes with nothing to find are all-zero (looking for 1) or all-one (looking for 0).
  const unsigned char skip = bit ? 0x00 : 0xff;
  const uint64_t skip_word = bit ? 0 : ~uint64_t{0};
  size_t i = 0;
  for (; i + 8 <= length; i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes + i, 8);
    if (word != skip_word) break;
  }
  for (; i < length; i++) {
    unsigned char byte = bytes[i];
    if (byte == skip) continue;
    if (!bit) byte = static_cast<unsigned char>(~byte);
    return static_cast<int64_t>(i * 8) + std::countl_zero(byte);
  }
  return bit ? -1 : static_cast<int64_t>(length * 8);
}

int64_t bitcount_range(std::string_view text, const BitRange& range) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  int64_t total = static_cast<int64_t>(text.size()) * (range.in_bits ? 8 : 1);
  int64_t start = range.start;
  int64_t end = range.end;
  // Both ends from the tail, in the wrong order: empty (before clamping could make it "0 0").
  if (start < 0 && end < 0 && start > end) return 0;
  if (!resolve_range(total, &start, &end)) return 0;
  if (!range.in_bits) return static_cast<int64_t>(count_bits(bytes + start, static_cast<size_t>(end - start + 1)));
  const int64_t first_byte = start >> 3;
  const int64_t last_byte = end >> 3;
  uint64_t count = count_bits(bytes + first_byte, static_cast<size_t>(last_byte - first_byte + 1));
  // Take back the bits of the edge bytes that lie outside the range.
  const unsigned head_mask = (0xffu << (8 - (start & 7))) & 0xffu;  // bits before `start`
  const unsigned tail_mask = (1u << (7 - (end & 7))) - 1;            // bits after `end`
  count -= static_cast<uint64_t>(std::popcount(bytes[first_byte] & head_mask));
  count -= static_cast<uint64_t>(std::popcount(bytes[last_byte] & tail_mask));
  return static_cast<int64_t>(count);
}

int64_t bitpos_range(std::string_view text, int bit, const BitRange& range, bool end_given) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  int64_t total = static_cast<int64_t>(text.size()) * (range.in_bits ? 8 : 1);
  int64_t start = range.start;
  int64_t end = end_given ? range.end : total - 1;
  if (!resolve_range(total, &start, &end)) return -1;
  const uint64_t from = range.in_bits ? static_cast<uint64_t>(start) : static_cast<uint64_t>(start) * 8;
  const uint64_t to = range.in_bits ? static_cast<uint64_t>(end) : static_cast<uint64_t>(end) * 8 + 7;
  int64_t found = find_bit_between(bytes, from, to, bit);
  if (found >= 0) return found;
  // Without an explicit end the string is thought of as padded with zeros.
  if (bit == 0 && !end_given) return static_cast<int64_t>(to + 1);
  return -1;
}

std::string bitop(BitOp op, const std::vector<std::string_view>& sources) {
  size_t longest = 0;
  for (std::string_view s : sources) longest = std::max(longest, s.size());
  std::string out(longest, '\0');
  if (sources.empty()) return out;
  auto byte_of = [](std::string_view s, size_t i) {
    return i < s.size() ? static_cast<unsigned char>(s[i]) : static_cast<unsigned char>(0);
  };
  for (size_t i = 0; i < longest; i++) {
    unsigned char acc = byte_of(sources[0], i);
    if (op == BitOp::kNot) {
      acc = static_cast<unsigned char>(~acc);
    } else {
      for (size_t j = 1; j < sources.size(); j++) {
        unsigned char b = byte_of(sources[j], i);
        if (op == BitOp::kAnd) acc &= b;
        if (op == BitOp::kOr) acc |= b;
        if (op == BitOp::kXor) acc ^= b;
      }
    }
    out[i] = static_cast<char>(acc);
  }
  return out;
}

uint64_t read_unsigned_field(const unsigned char* bytes, size_t length, uint64_t offset, int bits) {
  uint64_t value = 0;
  for (int i = 0; i < bits; i++) {
    const uint64_t index = offset + static_cast<uint64_t>(i);
    const int b = (index >> 3) < length ? bit_at(bytes, index) : 0;
    value = (value << 1) | static_cast<uint64_t>(b);
  }
  return value;
}

int64_t read_signed_field(const unsigned char* bytes, size_t length, uint64_t offset, int bits) {
  uint64_t value = read_unsigned_field(bytes, length, offset, bits);
  if (bits < 64 && (value >> (bits - 1)) & 1) value |= ~uint64_t{0} << bits;  // sign-extend
  return static_cast<int64_t>(value);
}

void write_field(unsigned char* bytes, uint64_t offset, int bits, uint64_t value) {
  for (int i = 0; i < bits; i++) {
    const uint64_t index = offset + static_cast<uint64_t>(i);
    const unsigned mask = 1u << (7 - (index & 7));
    if ((value >> (bits - 1 - i)) & 1) {
      bytes[index >> 3] = static_cast<unsigned char>(bytes[index >> 3] | mask);
    } else {
      bytes[index >> 3] = static_cast<unsigned char>(bytes[index >> 3] & ~mask);
    }
  }
}

bool signed_field_add(int64_t value, int64_t increment, int bits, Overflow mode, int64_t* result) {
  const int64_t max = bits == 64 ? INT64_MAX : (int64_t{1} << (bits - 1)) - 1;
  const int64_t min = -max - 1;
  const __int128 sum = static_cast<__int128>(value) + increment;
  if (sum >= min && sum <= max) {
    *result = static_cast<int64_t>(sum);
    return false;
  }
  if (mode == Overflow::kWrap) {
    uint64_t low = static_cast<uint64_t>(sum);
    if (bits < 64) {
      const uint64_t high = ~uint64_t{0} << bits;
      low = (low >> (bits - 1)) & 1 ? (low | high) : (low & ~high);
    }
    *result = static_cast<int64_t>(low);
  } else if (mode == Overflow::kSat) {
    bool upward = sum > max;
    // Redis's quirk: for a field narrower than 64 bits, a value so negative that max - value
    // does not fit in an int64 is judged an overflow *upwards* (SET i8 0 <near INT64_MIN>
    // saturates to 127).
    if (bits < 64 && static_cast<__int128>(max) - value > INT64_MAX) upward = true;
    *result = upward ? max : min;
  }
  return true;
}

bool unsigned_field_add(uint64_t value, int64_t increment, int bits, Overflow mode, uint64_t* result) {
  const uint64_t max = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  const __int128 sum = static_cast<__int128>(value) + increment;
  if (sum >= 0 && sum <= static_cast<__int128>(max)) {
    *result = static_cast<uint64_t>(sum);
    return false;
  }
  if (mode == Overflow::kWrap) {
    *result = static_cast<uint64_t>(sum) & max;
  } else if (mode == Overflow::kSat) {
    *result = sum < 0 ? 0 : max;
  }
  return true;
}

}  // namespace rd
