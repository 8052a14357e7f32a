// Decoders of the compact blobs stored inside RDB values, written from their format
// descriptions. Every read is bounds-checked: a corrupt file yields `false`, never a crash.
//   ziplist (Redis <= 6.2): u32 bytes, u32 tail offset, u16 count, entries, 0xff.
//   listpack (Redis >= 7.0): u32 bytes, u16 count, entries (encoding, data, back-length), 0xff.
//   intset: u32 element width (2, 4, 8), u32 count, little-endian integers.
//   zipmap (Redis < 2.6 hashes): u8 count, (len, field, len, free, value, padding)*, 0xff.
#include <charconv>
#include <cstring>

#include "storage/rdb_codec.h"

namespace rd::rdb {
namespace {

// A bounds-checked cursor over a blob.
class Cursor {
 public:
  explicit Cursor(std::string_view data) : data_(data) {}
  size_t pos() const { return pos_; }
  size_t left() const { return data_.size() - pos_; }
  bool skip(size_t n) {
    if (n > left()) return false;
    pos_ += n;
    return true;
  }
  bool byte(uint8_t* out) {
    if (left() < 1) return false;
    *out = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool peek(uint8_t* out) const {
    if (left() < 1) return false;
    *out = static_cast<uint8_t>(data_[pos_]);
    return true;
  }
  // Little-endian unsigned integer of `n` bytes.
  bool le(size_t n, uint64_t* out) {
    if (left() < n) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v |= uint64_t{static_cast<uint8_t>(data_[pos_ + i])} << (8 * i);
    pos_ += n;
    *out = v;
    return true;
  }
  bool bytes(size_t n, std::string_view* out) {
    if (n > left()) return false;
    *out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// Sign-extends the low `bits` bits of `v`.
int64_t sign_extend(uint64_t v, int bits) {
  if (bits == 64) return static_cast<int64_t>(v);
  uint64_t sign = uint64_t{1} << (bits - 1);
  v &= (uint64_t{1} << bits) - 1;
  return static_cast<int64_t>((v ^ sign) - sign);
}

void visit_int(int64_t value, const ElementVisitor& visit) {
  char buf[24];
  auto result = std::to_chars(buf, buf + sizeof(buf), value);
  visit(std::string_view(buf, static_cast<size_t>(result.ptr - buf)));
}

// ---- ziplist ----

bool ziplist_entry(Cursor& c, const ElementVisitor& visit) {
  uint8_t first = 0;
  if (!c.byte(&first)) return false;  // previous-entry length: 1 byte, or 0xfe + 4 bytes
  if (first == 0xfe && !c.skip(4)) return false;
  uint8_t enc = 0;
  if (!c.byte(&enc)) return false;
  std::string_view text;
  uint64_t v = 0;
  switch (enc >> 6) {
    case 0:  // string, 6-bit length
      if (!c.bytes(enc & 0x3f, &text)) return false;
      visit(text);
      return true;
    case 1: {  // string, 14-bit big-endian length
      uint8_t low = 0;
      if (!c.byte(&low)) return false;
      if (!c.bytes((size_t{enc & 0x3fu} << 8) | low, &text)) return false;
      visit(text);
      return true;
    }
    case 2: {  // string, 32-bit big-endian length
      if (enc != 0x80 || !c.le(4, &v)) return false;
      uint32_t len = static_cast<uint32_t>(((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >> 8) & 0xff00) | (v >> 24));
      if (!c.bytes(len, &text)) return false;
      visit(text);
      return true;
    }
    default:
      break;
  }
  int64_t number = 0;
  if (enc == 0xc0) {
    if (!c.le(2, &v)) return false;
    number = sign_extend(v, 16);
  } else if (enc == 0xd0) {
    if (!c.le(4, &v)) return false;
    number = sign_extend(v, 32);
  } else if (enc == 0xe0) {
    if (!c.le(8, &v)) return false;
    number = sign_extend(v, 64);
  } else if (enc == 0xf0) {
    if (!c.le(3, &v)) return false;
    number = sign_extend(v, 24);
  } else if (enc == 0xfe) {
    if (!c.le(1, &v)) return false;
    number = sign_extend(v, 8);
  } else if (enc >= 0xf1 && enc <= 0xfd) {
    number = (enc & 0x0f) - 1;  // immediate 0..12
  } else {
    return false;
  }
  visit_int(number, visit);
  return true;
}

// ---- listpack ----

bool listpack_entry(Cursor& c, const ElementVisitor& visit) {
  const size_t start = c.pos();
  uint8_t enc = 0;
  if (!c.byte(&enc)) return false;
  std::string_view text;
  uint64_t v = 0;
  bool is_string = false;
  int64_t number = 0;
  if ((enc & 0x80) == 0) {  // 7-bit unsigned
    number = enc & 0x7f;
  } else if ((enc & 0xc0) == 0x80) {  // 6-bit string length
    if (!c.bytes(enc & 0x3f, &text)) return false;
    is_string = true;
  } else if ((enc & 0xe0) == 0xc0) {  // 13-bit signed
    uint8_t low = 0;
    if (!c.byte(&low)) return false;
    number = sign_extend((uint64_t{enc & 0x1fu} << 8) | low, 13);
  } else if ((enc & 0xf0) == 0xe0) {  // 12-bit string length
    uint8_t low = 0;
    if (!c.byte(&low)) return false;
    if (!c.bytes((size_t{enc & 0x0fu} << 8) | low, &text)) return false;
    is_string = true;
  } else if (enc == 0xf0) {  // 32-bit string length
    if (!c.le(4, &v) || !c.bytes(v, &text)) return false;
    is_string = true;
  } else if (enc == 0xf1 || enc == 0xf2 || enc == 0xf3 || enc == 0xf4) {
    static const int kWidths[] = {2, 3, 4, 8};
    int width = kWidths[enc - 0xf1];
    if (!c.le(static_cast<size_t>(width), &v)) return false;
    number = sign_extend(v, width * 8);
  } else {
    return false;
  }
  // The back-length: the entry's size so far, in 1..5 bytes of 7 bits each.
  size_t entry_len = c.pos() - start;
  size_t backlen_bytes = entry_len < 128 ? 1 : entry_len < 16383 ? 2 : entry_len < 2097151 ? 3 : entry_len < 268435455 ? 4 : 5;
  if (!c.skip(backlen_bytes)) return false;
  if (is_string) {
    visit(text);
  } else {
    visit_int(number, visit);
  }
  return true;
}

}  // namespace

bool decode_ziplist(std::string_view blob, const ElementVisitor& visit) {
  Cursor c(blob);
  uint64_t total = 0, tail = 0, count = 0;
  if (!c.le(4, &total) || !c.le(4, &tail) || !c.le(2, &count)) return false;
  if (total != blob.size()) return false;
  while (true) {
    uint8_t next = 0;
    if (!c.peek(&next)) return false;
    if (next == 0xff) break;
    if (!ziplist_entry(c, visit)) return false;
  }
  return c.left() == 1;
}

bool decode_listpack(std::string_view blob, const ElementVisitor& visit) {
  Cursor c(blob);
  uint64_t total = 0, count = 0;
  if (!c.le(4, &total) || !c.le(2, &count)) return false;
  if (total != blob.size()) return false;
  uint64_t seen = 0;
  while (true) {
    uint8_t next = 0;
    if (!c.peek(&next)) return false;
    if (next == 0xff) break;
    if (!listpack_entry(c, visit)) return false;
    seen++;
  }
  // 65535 means "too many to count in the header".
  if (count != 65535 && count != seen) return false;
  return c.left() == 1;
}

bool decode_intset(std::string_view blob, const ElementVisitor& visit) {
  Cursor c(blob);
  uint64_t width = 0, count = 0;
  if (!c.le(4, &width) || !c.le(4, &count)) return false;
  if (width != 2 && width != 4 && width != 8) return false;
  if (c.left() != count * width) return false;
  for (uint64_t i = 0; i < count; i++) {
    uint64_t v = 0;
    c.le(width, &v);
    visit_int(sign_extend(v, static_cast<int>(width * 8)), visit);
  }
  return true;
}

bool decode_zipmap(std::string_view blob, const ElementVisitor& visit) {
  Cursor c(blob);
  if (!c.skip(1)) return false;  // element count (a hint, 254 = unknown)
  auto length = [&](uint64_t* out) {
    uint8_t first = 0;
    if (!c.byte(&first) || first == 0xff) return false;
    if (first < 254) {
      *out = first;
      return true;
    }
    return first == 254 && c.le(4, out);
  };
  while (true) {
    uint8_t next = 0;
    if (!c.peek(&next)) return false;
    if (next == 0xff) break;
    uint64_t field_len = 0, value_len = 0;
    std::string_view field, value;
    uint8_t free_bytes = 0;
    if (!length(&field_len) || !c.bytes(field_len, &field)) return false;
    if (!length(&value_len) || !c.byte(&free_bytes) || !c.bytes(value_len, &value) || !c.skip(free_bytes)) {
      return false;
    }
    visit(field);
    visit(value);
  }
  return c.left() == 1;
}

bool exact_int64(std::string_view text, int64_t* value) {
  if (text.empty() || text.size() > 20) return false;
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (text[0] == '-' ? (text.size() < 2 || text[1] == '0') : (text[0] == '0' && text.size() > 1)) return false;
  auto result = std::from_chars(begin, end, *value);
  return result.ec == std::errc() && result.ptr == end;
}

}  // namespace rd::rdb
