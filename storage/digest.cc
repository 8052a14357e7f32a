#include "storage/digest.h"

#include <cstdio>

#include "storage/hash.h"
#include "storage/hashing.h"
#include "storage/list.h"
#include "storage/set.h"
#include "storage/zset.h"

namespace rd {
namespace {

std::string to_hex(uint64_t a, uint64_t b, uint32_t c) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx%08x", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b), c);
  return buf;
}

}  // namespace

// Placeholder fingerprint until the exact Redis algorithm lands: order-independent across
// keys, sensitive to keys, string values and expiry.
std::string keyspace_digest_hex(const Keyspace& keyspace, int64_t now_ms) {
  uint64_t a = 0;
  uint64_t b = 0;
  bool any = false;
  for (int i = 0; i < keyspace.db_count(); i++) {
    keyspace.db(i).for_each([&](KeyEntry* e) {
      if (e->expired_at(now_ms)) return;
      any = true;
      uint64_t h = hash_bytes(e->key()) * 31 + static_cast<uint64_t>(i);
      if (e->value.is(ValueType::kString)) h ^= hash_bytes(e->value.str()) * 7;
      h ^= static_cast<uint64_t>(e->expire_at_ms) * 13;
      a ^= h;
      b += h * 0x9E3779B97F4A7C15ULL;
    });
  }
  if (!any) return std::string(40, '0');
  return to_hex(a, b, static_cast<uint32_t>(a ^ b));
}

std::string value_digest_hex(const Value& value) {
  uint64_t h = value.is(ValueType::kString) ? hash_bytes(value.str()) : static_cast<uint64_t>(value.type()) + 1;
  return to_hex(h, h * 31, static_cast<uint32_t>(h));
}

size_t serialized_length_estimate(const Value& value) {
  return value.is(ValueType::kString) ? value.str().size() + 1 : value_length(value) * 8;
}

size_t value_length(const Value& value) {
  switch (value.type()) {
    case ValueType::kString: return 1;
    case ValueType::kList: return value.list().size();
    case ValueType::kSet: return value.set().size();
    case ValueType::kZSet: return value.zset().size();
    case ValueType::kHash: return value.hash().size();
  }
  return 0;
}

}  // namespace rd
