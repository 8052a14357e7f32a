// Test-only builders of the compact blobs and RDB fragments Redis writes, so the decoder can
// be checked against hand-built input (including encodings Redis 7.0 no longer writes).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace rd::rdb_test {

using Item = std::variant<std::string, int64_t>;

inline void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) out.push_back(static_cast<char>(v >> (8 * i)));
}

inline std::string ziplist(const std::vector<Item>& items) {
  std::string body;
  size_t prev = 0;
  for (const Item& item : items) {
    std::string entry;
    if (prev < 254) {
      entry.push_back(static_cast<char>(prev));
    } else {
      entry.push_back(static_cast<char>(0xfe));
      put_le(entry, prev, 4);
    }
    if (const auto* s = std::get_if<std::string>(&item)) {
      if (s->size() < 64) {
        entry.push_back(static_cast<char>(s->size()));
      } else {
        entry.push_back(static_cast<char>(0x40 | (s->size() >> 8)));
        entry.push_back(static_cast<char>(s->size() & 0xff));
      }
      entry += *s;
    } else {
      int64_t v = std::get<int64_t>(item);
      if (v >= 0 && v <= 12) {
        entry.push_back(static_cast<char>(0xf1 + v));
      } else if (v >= INT8_MIN && v <= INT8_MAX) {
        entry.push_back(static_cast<char>(0xfe));
        put_le(entry, static_cast<uint64_t>(v), 1);
      } else if (v >= INT16_MIN && v <= INT16_MAX) {
        entry.push_back(static_cast<char>(0xc0));
        put_le(entry, static_cast<uint64_t>(v), 2);
      } else if (v >= -(1 << 23) && v < (1 << 23)) {
        entry.push_back(static_cast<char>(0xf0));
        put_le(entry, static_cast<uint64_t>(v), 3);
      } else if (v >= INT32_MIN && v <= INT32_MAX) {
        entry.push_back(static_cast<char>(0xd0));
        put_le(entry, static_cast<uint64_t>(v), 4);
      } else {
        entry.push_back(static_cast<char>(0xe0));
        put_le(entry, static_cast<uint64_t>(v), 8);
      }
    }
    prev = entry.size();
    body += entry;
  }
  std::string out;
  put_le(out, 10 + body.size() + 1, 4);
  put_le(out, 0, 4);  // tail offset: not used by the decoder
  put_le(out, items.size(), 2);
  return out + body + "\xff";
}

inline std::string listpack(const std::vector<Item>& items) {
  std::string body;
  for (const Item& item : items) {
    std::string entry;
    if (const auto* s = std::get_if<std::string>(&item)) {
      if (s->size() < 64) {
        entry.push_back(static_cast<char>(0x80 | s->size()));
      } else if (s->size() < 4096) {
        entry.push_back(static_cast<char>(0xe0 | (s->size() >> 8)));
        entry.push_back(static_cast<char>(s->size() & 0xff));
      } else {
        entry.push_back(static_cast<char>(0xf0));
        put_le(entry, s->size(), 4);
      }
      entry += *s;
    } else {
      int64_t v = std::get<int64_t>(item);
      if (v >= 0 && v <= 127) {
        entry.push_back(static_cast<char>(v));
      } else if (v >= -4096 && v <= 4095) {
        uint64_t u = static_cast<uint64_t>(v) & 0x1fff;
        entry.push_back(static_cast<char>(0xc0 | (u >> 8)));
        entry.push_back(static_cast<char>(u & 0xff));
      } else if (v >= INT16_MIN && v <= INT16_MAX) {
        entry.push_back(static_cast<char>(0xf1));
        put_le(entry, static_cast<uint64_t>(v), 2);
      } else if (v >= -(1 << 23) && v < (1 << 23)) {
        entry.push_back(static_cast<char>(0xf2));
        put_le(entry, static_cast<uint64_t>(v), 3);
      } else if (v >= INT32_MIN && v <= INT32_MAX) {
        entry.push_back(static_cast<char>(0xf3));
        put_le(entry, static_cast<uint64_t>(v), 4);
      } else {
        entry.push_back(static_cast<char>(0xf4));
        put_le(entry, static_cast<uint64_t>(v), 8);
      }
    }
    size_t len = entry.size();
    if (len < 128) {
      entry.push_back(static_cast<char>(len));
    } else {  // two bytes, most significant first, continuation bit on the second
      entry.push_back(static_cast<char>(len >> 7));
      entry.push_back(static_cast<char>((len & 127) | 128));
    }
    body += entry;
  }
  std::string out;
  put_le(out, 6 + body.size() + 1, 4);
  put_le(out, items.size(), 2);
  return out + body + "\xff";
}

inline std::string intset(const std::vector<int64_t>& values, int width) {
  std::string out;
  put_le(out, static_cast<uint64_t>(width), 4);
  put_le(out, values.size(), 4);
  for (int64_t v : values) put_le(out, static_cast<uint64_t>(v), width);
  return out;
}

inline std::string zipmap(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out(1, static_cast<char>(pairs.size()));
  for (const auto& [field, value] : pairs) {
    out.push_back(static_cast<char>(field.size()));
    out += field;
    out.push_back(static_cast<char>(value.size()));
    out.push_back(static_cast<char>(2));  // two free bytes after the value
    out += value + "..";
  }
  return out + "\xff";
}

// RDB fragments.
inline std::string len(uint64_t n) {
  std::string out;
  if (n < 64) {
    out.push_back(static_cast<char>(n));
  } else if (n < 16384) {
    out.push_back(static_cast<char>(0x40 | (n >> 8)));
    out.push_back(static_cast<char>(n & 0xff));
  } else {
    out.push_back(static_cast<char>(0x80));
    for (int i = 3; i >= 0; i--) out.push_back(static_cast<char>(n >> (8 * i)));
  }
  return out;
}
inline std::string str(std::string_view s) { return len(s.size()) + std::string(s); }

}  // namespace rd::rdb_test
