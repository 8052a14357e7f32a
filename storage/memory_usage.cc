#include "storage/memory_usage.h"

#include <algorithm>
#include <bit>
#include <cstdint>

#include "storage/hash.h"
#include "storage/list.h"
#include "storage/numbers.h"
#include "storage/set.h"
#include "storage/stream.h"
#include "storage/zset.h"

namespace rd {
namespace {

// Sizes of Redis's structures on 64-bit builds.
constexpr size_t kObjectHeader = 16;   // robj
constexpr size_t kDictEntry = 24;      // key, value, next
constexpr size_t kDict = 56;           // dict with its two tables' bookkeeping
constexpr size_t kQuicklist = 40;
constexpr size_t kQuicklistNode = 40;
constexpr size_t kListpackHeader = 7;  // total bytes, count, end marker
constexpr size_t kListNodeBytes = 8192;  // list-max-listpack-size -2
constexpr size_t kZset = 16;           // dict + skip list pointers
constexpr size_t kSkiplist = 32;
constexpr size_t kSkiplistHeaderNode = 640;  // a 32-level node, rounded by jemalloc
constexpr size_t kSkiplistNode = 48;   // a typical (one or two level) node, rounded

size_t dict_buckets(size_t entries) { return std::max<size_t>(4, std::bit_ceil(std::max<size_t>(entries, 1))); }

size_t dict_overhead(size_t entries) { return kDict + 8 * dict_buckets(entries); }

size_t listpack_backlen(size_t encoded) {
  if (encoded <= 127) return 1;
  if (encoded < 16383) return 2;
  if (encoded < 2097151) return 3;
  if (encoded < 268435455) return 4;
  return 5;
}

bool is_int_encoded_string(std::string_view text, bool raw) {
  int64_t ignored = 0;
  return !raw && text.size() <= 20 && string_to_int64(text, &ignored);
}

size_t string_value_size(std::string_view text, bool raw) {
  if (is_int_encoded_string(text, raw)) return kObjectHeader;
  if (!raw && text.size() <= 44) return jemalloc_size_class(kObjectHeader + 3 + text.size() + 1);  // embstr
  return kObjectHeader + sds_allocation(text.size());
}

// Average of `total` over `samples`, times `count`: Redis's sampling extrapolation.
size_t extrapolate(size_t total, size_t samples, size_t count) {
  return samples == 0 ? 0 : static_cast<size_t>(static_cast<double>(total) / static_cast<double>(samples) *
                                                 static_cast<double>(count));
}

size_t list_size(const ListValue& list, size_t samples) {
  // Simulate Redis's quicklist nodes (8 KB listpacks) over the first `samples` nodes.
  size_t nodes = 0;
  size_t node_bytes = kListpackHeader;
  size_t elements = 0;
  size_t total = 0;
  for (ListValue::Cursor c = list.cursor_at_head(); c.valid() && nodes < samples; c.next()) {
    const size_t entry = listpack_entry_size(c.value());
    if (node_bytes + entry > kListNodeBytes && node_bytes > kListpackHeader) {
      total += kQuicklistNode + jemalloc_size_class(node_bytes);
      nodes++;
      node_bytes = kListpackHeader;
      if (nodes == samples) break;
    }
    node_bytes += entry;
    elements++;
  }
  if (nodes < samples && node_bytes > kListpackHeader) {
    total += kQuicklistNode + jemalloc_size_class(node_bytes);
    nodes++;
  }
  const size_t node_count = elements == 0 ? 0 : (list.size() * nodes + elements - 1) / elements;
  return kObjectHeader + kQuicklist + extrapolate(total, nodes, node_count);
}

size_t set_size(const SetValue& set, size_t samples) {
  if (set.is_intset()) {
    size_t width = 2;
    set.visit([&](std::string_view member) {
      int64_t v = 0;
      string_to_int64(member, &v);
      if (v < INT16_MIN || v > INT16_MAX) width = std::max<size_t>(width, 4);
      if (v < INT32_MIN || v > INT32_MAX) width = 8;
    });
    return kObjectHeader + jemalloc_size_class(8 + set.size() * width);
  }
  size_t total = 0;
  size_t seen = 0;
  set.visit_while([&](std::string_view member) {
    total += kDictEntry + sds_allocation(member.size());
    return ++seen < samples;
  });
  return kObjectHeader + dict_overhead(set.size()) + extrapolate(total, seen, set.size());
}

size_t hash_size(const HashValue& hash, size_t samples) {
  if (hash.is_listpack()) {
    size_t bytes = kListpackHeader;
    hash.visit([&](std::string_view field, std::string_view value) {
      bytes += listpack_entry_size(field) + listpack_entry_size(value);
    });
    return kObjectHeader + jemalloc_size_class(bytes);
  }
  size_t total = 0;
  size_t seen = 0;
  uint64_t cursor = 0;
  do {
    cursor = hash.scan(cursor, [&](std::string_view field, std::string_view value) {
      if (seen >= samples) return;
      total += kDictEntry + sds_allocation(field.size()) + sds_allocation(value.size());
      seen++;
    });
  } while (cursor != 0 && seen < samples);
  return kObjectHeader + dict_overhead(hash.size()) + extrapolate(total, seen, hash.size());
}

size_t zset_size(const ZSetValue& zset, size_t samples) {
  if (zset.is_listpack()) {
    size_t bytes = kListpackHeader;
    char buf[64];
    zset.for_each([&](std::string_view member, double score) {
      bytes += listpack_entry_size(member) + listpack_entry_size(std::string_view(buf, format_double(score, buf)));
    });
    return kObjectHeader + jemalloc_size_class(bytes);
  }
  size_t total = 0;
  size_t seen = 0;
  for (ZSetCursor c = zset.at(0); c.valid() && seen < samples; c.next(), seen++) {
    total += sds_allocation(c.member().size()) + kDictEntry + kSkiplistNode;
  }
  return kObjectHeader + kZset + kSkiplist + dict_overhead(zset.size()) + kSkiplistHeaderNode +
         extrapolate(total, seen, zset.size());
}

}  // namespace

size_t jemalloc_size_class(size_t bytes) {
  if (bytes <= 8) return 8;
  if (bytes <= 128) return (bytes + 15) & ~size_t{15};
  // Four classes per doubling: 160, 192, 224, 256, 320, ...
  const int log2 = std::bit_width(bytes - 1) - 1;
  const size_t spacing = size_t{1} << (log2 - 2);
  return (bytes + spacing - 1) & ~(spacing - 1);
}

size_t sds_allocation(size_t length) {
  const size_t header = length < 32 ? 1 : length < 256 ? 3 : length < 65536 ? 5 : length < (size_t{1} << 32) ? 9 : 17;
  return jemalloc_size_class(header + length + 1);
}

size_t listpack_entry_size(std::string_view element) {
  int64_t v = 0;
  size_t encoded = 0;
  if (element.size() <= 20 && string_to_int64(element, &v)) {
    if (v >= 0 && v <= 127) {
      encoded = 1;
    } else if (v >= -4096 && v <= 4095) {
      encoded = 2;
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
      encoded = 3;
    } else if (v >= -(1 << 23) && v < (1 << 23)) {
      encoded = 4;
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      encoded = 5;
    } else {
      encoded = 9;
    }
  } else {
    encoded = element.size() + (element.size() < 64 ? 1 : element.size() < 4096 ? 2 : 5);
  }
  return encoded + listpack_backlen(encoded);
}

size_t estimate_memory_usage(std::string_view key, const Value& value, bool string_is_raw, size_t samples) {
  if (samples == 0) samples = SIZE_MAX;
  size_t size = sds_allocation(key.size()) + kDictEntry;
  switch (value.type()) {
    case ValueType::kString: return size + string_value_size(value.str(), string_is_raw);
    case ValueType::kList: return size + list_size(value.list(), samples);
    case ValueType::kSet: return size + set_size(value.set(), samples);
    case ValueType::kHash: return size + hash_size(value.hash(), samples);
    case ValueType::kZSet: return size + zset_size(value.zset(), samples);
    case ValueType::kStream: return size + value.stream().memory_usage();
  }
  return size;
}

size_t lazy_free_effort(const Value& value) {
  switch (value.type()) {
    case ValueType::kString: return 1;
    case ValueType::kList: return value.list().allocated_bytes() / kListNodeBytes + 1;  // ~ quicklist nodes
    case ValueType::kSet: return value.set().is_intset() ? 1 : value.set().size();
    case ValueType::kHash: return value.hash().is_listpack() ? 1 : value.hash().size();
    case ValueType::kZSet: return value.zset().is_listpack() ? 1 : value.zset().size();
    case ValueType::kStream: {
      const auto& stream = value.stream();
      size_t effort = stream.node_count();
      // Every group and PEL entry is an allocation; the first group's PEL stands for all.
      if (!stream.groups().empty()) {
        effort += stream.groups().size() * (1 + stream.groups().begin()->second->pel.size());
      }
      return effort;
    }
  }
  return 1;
}

}  // namespace rd
