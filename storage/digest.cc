// DEBUG DIGEST: Redis's dataset fingerprint, reimplemented so that our digest equals real
// Redis's for the same data (tests compare the two servers with it).
//
// The scheme (from Redis's documentation of DEBUG DIGEST and its debug.c):
//   xor(d, bytes): d ^= SHA1(bytes)           -- order-independent accumulation
//   mix(d, bytes): xor(d, bytes); d = SHA1(d) -- order-dependent accumulation
//   per key:   k = 0; mix(k, key); mix(k, htonl(type));
//              string: mix(k, value)
//              list:   mix(k, element) for each element, head to tail
//              set:    xor(k, member) for each member
//              zset:   e = 0; mix(e, member); mix(e, "%.17g" of score); xor(k, e)
//              hash:   e = 0; mix(e, field); mix(e, value); xor(k, e)
//              stream: for each entry: mix(k, "<ms>.<seq>"); mix(k, field); mix(k, value)...
//                      (consumer groups are not part of it); the type is Redis's 6
//              expiry: xor(k, "!!expire!!")
//   dataset:  for each non-empty db: mix(final, htonl(db)); for each key: xor(final, k)
// Integers stored in compact encodings count as their decimal text, as Redis decodes them.
#include "storage/digest.h"

#include <array>
#include <cstdio>
#include <cstring>

#include "storage/hash.h"
#include "storage/list.h"
#include "storage/rdb.h"
#include "storage/set.h"
#include "storage/stream.h"
#include "storage/zset.h"

namespace rd {
namespace {

using Digest = std::array<unsigned char, 20>;

// ---- SHA-1 (FIPS 180-1), written from the specification ----

class Sha1 {
 public:
  void update(const void* data, size_t length) {
    const auto* p = static_cast<const unsigned char*>(data);
    total_ += length;
    while (length > 0) {
      size_t take = std::min(length, sizeof(block_) - used_);
      std::memcpy(block_ + used_, p, take);
      used_ += take;
      p += take;
      length -= take;
      if (used_ == sizeof(block_)) {
        compress();
        used_ = 0;
      }
    }
  }

  Digest finish() {
    const uint64_t bits = total_ * 8;
    const unsigned char pad = 0x80;
    update(&pad, 1);
    const unsigned char zero = 0;
    while (used_ != 56) update(&zero, 1);
    unsigned char length_be[8];
    for (int i = 0; i < 8; i++) length_be[i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
    update(length_be, 8);
    Digest out;
    for (int i = 0; i < 5; i++) {
      for (int b = 0; b < 4; b++) out[static_cast<size_t>(4 * i + b)] = static_cast<unsigned char>(h_[i] >> (24 - 8 * b));
    }
    return out;
  }

 private:
  static uint32_t rotl(uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }

  void compress() {
    uint32_t w[80];
    for (int i = 0; i < 16; i++) {
      w[i] = (uint32_t{block_[4 * i]} << 24) | (uint32_t{block_[4 * i + 1]} << 16) |
             (uint32_t{block_[4 * i + 2]} << 8) | block_[4 * i + 3];
    }
    for (int i = 16; i < 80; i++) w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4];
    for (int i = 0; i < 80; i++) {
      uint32_t f, k;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6;
      }
      uint32_t t = rotl(a, 5) + f + e + k + w[i];
      e = d;
      d = c;
      c = rotl(b, 30);
      b = a;
      a = t;
    }
    h_[0] += a;
    h_[1] += b;
    h_[2] += c;
    h_[3] += d;
    h_[4] += e;
  }

  uint32_t h_[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
  unsigned char block_[64] = {};
  size_t used_ = 0;
  uint64_t total_ = 0;
};

Digest sha1(const void* data, size_t length) {
  Sha1 s;
  s.update(data, length);
  return s.finish();
}

void xor_digest(Digest& d, const void* data, size_t length) {
  Digest h = sha1(data, length);
  for (size_t i = 0; i < 20; i++) d[i] ^= h[i];
}
void xor_digest(Digest& d, std::string_view s) { xor_digest(d, s.data(), s.size()); }

void mix_digest(Digest& d, const void* data, size_t length) {
  xor_digest(d, data, length);
  d = sha1(d.data(), d.size());
}
void mix_digest(Digest& d, std::string_view s) { mix_digest(d, s.data(), s.size()); }

void mix_u32_be(Digest& d, uint32_t v) {
  unsigned char be[4] = {static_cast<unsigned char>(v >> 24), static_cast<unsigned char>(v >> 16),
                         static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
  mix_digest(d, be, 4);
}

void add_value(Digest& d, const Value& value) {
  // Redis's type numbers: OBJ_STREAM is 6 (5 is modules).
  mix_u32_be(d, value.is(ValueType::kStream) ? 6 : static_cast<uint32_t>(value.type()));
  switch (value.type()) {
    case ValueType::kString:
      mix_digest(d, value.str());
      break;
    case ValueType::kList:
      value.list().for_each([&](std::string_view item) { mix_digest(d, item); });
      break;
    case ValueType::kSet:
      value.set().for_each([&](std::string_view member) { xor_digest(d, member); });
      break;
    case ValueType::kZSet:
      value.zset().for_each([&](std::string_view member, double score) {
        Digest e{};
        mix_digest(e, member);
        char buf[64];
        int n = std::snprintf(buf, sizeof(buf), "%.17g", score);
        mix_digest(e, buf, static_cast<size_t>(n));
        xor_digest(d, e.data(), e.size());
      });
      break;
    case ValueType::kHash:
      value.hash().for_each([&](std::string_view field, std::string_view v) {
        Digest e{};
        mix_digest(e, field);
        mix_digest(e, v);
        xor_digest(d, e.data(), e.size());
      });
      break;
    case ValueType::kStream: {
      StreamValue::Iterator it(value.stream(), StreamId{}, StreamId::max(), false);
      while (it.next()) {
        const std::string id = std::to_string(it.id().ms) + "." + std::to_string(it.id().seq);
        mix_digest(d, id);
        for (const StreamField& f : it.fields()) {
          mix_digest(d, f.field);
          mix_digest(d, f.value);
        }
      }
      break;
    }
  }
}

void add_expiring_value(Digest& d, const Value& value, bool has_expire) {
  add_value(d, value);
  if (has_expire) xor_digest(d, std::string_view("!!expire!!"));
}

std::string hex(const Digest& d) {
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  out.reserve(40);
  for (unsigned char b : d) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

}  // namespace

std::string sha1_hex(std::string_view data) {
  static const char kHex[] = "0123456789abcdef";
  const Digest d = sha1(data.data(), data.size());
  std::string out(40, '0');
  for (size_t i = 0; i < d.size(); i++) {
    out[2 * i] = kHex[d[i] >> 4];
    out[2 * i + 1] = kHex[d[i] & 0xF];
  }
  return out;
}

std::string keyspace_digest_hex(const Keyspace& keyspace, int64_t now_ms) {
  (void)now_ms;  // like Redis, logically expired keys not yet deleted still count
  Digest final_digest{};
  for (int i = 0; i < keyspace.db_count(); i++) {
    const Db& db = keyspace.db(i);
    if (db.size() == 0) continue;
    mix_u32_be(final_digest, static_cast<uint32_t>(i));
    db.for_each([&](const KeyEntry* entry) {
      Digest k{};
      mix_digest(k, entry->key());
      add_expiring_value(k, entry->value, entry->has_expire());
      xor_digest(final_digest, k.data(), k.size());
    });
  }
  return hex(final_digest);
}

std::string value_digest_hex(const Value& value, bool has_expire) {
  Digest d{};
  add_expiring_value(d, value, has_expire);
  return hex(d);
}

size_t serialized_length_estimate(const Value& value) { return rdb_serialized_length(value, true); }

size_t value_length(const Value& value) {
  switch (value.type()) {
    case ValueType::kString: return 1;
    case ValueType::kList: return value.list().size();
    case ValueType::kSet: return value.set().size();
    case ValueType::kZSet: return value.zset().size();
    case ValueType::kHash: return value.hash().size();
    case ValueType::kStream: return value.stream().length();
  }
  return 0;
}

}  // namespace rd
