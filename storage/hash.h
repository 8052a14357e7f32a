// The hash type, in Redis 7.0's two encodings:
//   "listpack"  — while it has at most hash-max-listpack-entries fields and every field and value
//                 is at most hash-max-listpack-value bytes: the pairs packed back to back in one
//                 buffer, in insertion order (HGETALL on a small hash is ordered like Redis's).
//   "hashtable" — otherwise: our Dict, one node per field holding field and value bytes inline.
// Conversion is one-way, as in Redis: deleting fields never turns a table back into a listpack.
//
// Not thread-safe: guarded by the keyspace lock like the database that holds it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "storage/compact_buffer.h"
#include "storage/dict.h"
#include "storage/value.h"

namespace rd {

namespace hash_detail {

// The small encoding: [length][field][length][value]... with LEB128 lengths, like a listpack
// (one allocation per hash, no per-field overhead). Lookups are linear, which is what Redis
// does too and is fast at these sizes.
class PackedPairs {
 public:
  static constexpr size_t kNotFound = static_cast<size_t>(-1);

  // One decoded pair and where it sits in the buffer (valid until the next change).
  struct Pair {
    std::string_view field;
    std::string_view value;
    size_t begin = 0;  // offset of the field's length prefix
    size_t end = 0;    // offset just past the value
  };

  size_t size() const { return buffer_.aux; }  // the pair count
  size_t bytes() const { return buffer_.size(); }
  // The pair whose field's length prefix starts at byte `offset` (< bytes()).
  Pair at(size_t offset) const;
  // Offset of the pair with `field`, or kNotFound.
  size_t find(std::string_view field) const;
  // `field` and `value` must not point into this buffer.
  void append(std::string_view field, std::string_view value);
  void replace_value(const Pair& pair, std::string_view value);
  void erase(const Pair& pair);

  template <typename F>
  void for_each(F&& visit) const {
    for (size_t offset = 0; offset < buffer_.size();) {
      Pair pair = at(offset);
      visit(pair.field, pair.value);
      offset = pair.end;
    }
  }

 private:
  CompactBuffer buffer_;
};

// A field of the "hashtable" encoding: the field and value bytes follow the struct in one
// allocation. A value of another length means a new node (HashValue::set swaps it in).
struct HashNode {
  HashNode* next = nullptr;  // chain link, owned by the Dict
  uint32_t field_length = 0;
  uint32_t value_length = 0;

  std::string_view field() const { return {bytes(), field_length}; }
  std::string_view value() const { return {bytes() + field_length, value_length}; }
  void overwrite_value(std::string_view same_length_value) {
    if (value_length > 0) std::memcpy(bytes() + field_length, same_length_value.data(), value_length);
  }
  static HashNode* create(std::string_view field, std::string_view value);
  static void destroy(HashNode* node);

 private:
  const char* bytes() const { return reinterpret_cast<const char*>(this + 1); }
  char* bytes() { return reinterpret_cast<char*>(this + 1); }
};

struct HashNodeOps {
  static std::string_view key(const HashNode* node) { return node->field(); }
  static void destroy(HashNode* node) { HashNode::destroy(node); }
};

using HashTable = Dict<HashNode, HashNodeOps>;

}  // namespace hash_detail

class HashValue {
 public:
  using FieldValue = std::pair<std::string_view, std::string_view>;

  size_t size() const { return table_ ? table_->size() : packed_.size(); }
  bool empty() const { return size() == 0; }
  std::string_view encoding_name() const { return table_ ? "hashtable" : "listpack"; }
  bool is_listpack() const { return !table_; }
  std::unique_ptr<HashValue> clone() const;

  // Visits every (field, value) pair: insertion order for a listpack, table order otherwise.
  void for_each(const std::function<void(std::string_view, std::string_view)>& visit) const;
  // The same without the std::function indirection (command hot paths).
  template <typename F>
  void visit(F&& visit_pair) const {
    if (!table_) return packed_.for_each(visit_pair);
    table_->for_each([&](const hash_detail::HashNode* node) { visit_pair(node->field(), node->value()); });
  }

  // Sets field to value, converting the encoding as `limits` say; returns true if the field is new.
  // `field` and `value` must not point into this hash.
  // Like Redis, a listpack is checked against the entry limit after every set (so a lowered
  // hash-max-listpack-entries converts on the next HSET, even of an existing field).
  bool set(std::string_view field, std::string_view value, const EncodingLimits& limits);
  // HSET/HMSET/HSETNX look at the lengths of all their arguments before setting anything
  // (Redis's hashTypeTryConversion): converts when `longest` exceeds hash-max-listpack-value.
  void convert_if_longer_than_limit(size_t longest, const EncodingLimits& limits);
  void convert_to_table();

  // The value of `field` (a view valid until the hash changes); false when absent.
  bool get(std::string_view field, std::string_view* value) const;
  bool contains(std::string_view field) const;
  // Removes `field`; returns whether it existed.
  bool erase(std::string_view field);

  // Every pair, as views valid until the hash changes (sampling, HGETALL of big replies).
  std::vector<FieldValue> pairs() const;

  // One uniformly random pair of a non-empty listpack, or a table pair picked like Redis's
  // dictGetFairRandomKey (random bucket, random chain element).
  template <typename Rng>
  FieldValue random_pair(Rng&& random) const {
    if (table_) {
      const hash_detail::HashNode* node = table_->random_node(random);
      return {node->field(), node->value()};
    }
    size_t skip = random() % packed_.size();
    size_t offset = 0;
    for (; skip > 0; skip--) offset = packed_.at(offset).end;
    hash_detail::PackedPairs::Pair pair = packed_.at(offset);
    return {pair.field, pair.value};
  }

  // Visits `count` random pairs, repetitions allowed (HRANDFIELD with a negative count).
  template <typename Rng, typename F>
  void sample_with_repetition(size_t count, Rng&& random, F&& visit_pair) const {
    if (table_) {
      while (count-- > 0) {
        FieldValue pair = random_pair(random);
        visit_pair(pair.first, pair.second);
      }
      return;
    }
    // A listpack has no random access: index it once instead of walking it per pick.
    std::vector<FieldValue> all = pairs();
    while (count-- > 0) {
      const FieldValue& pair = all[random() % all.size()];
      visit_pair(pair.first, pair.second);
    }
  }

  // Visits `count` distinct random pairs (count < size()), in random order.
  template <typename Rng, typename F>
  void sample_distinct(size_t count, Rng&& random, F&& visit_pair) const {
    if (!table_ || count * 3 > table_->size()) {
      // Close to the whole hash: shuffle the first `count` of all pairs (partial Fisher-Yates).
      std::vector<FieldValue> all = pairs();
      for (size_t i = 0; i < count; i++) {
        size_t j = i + random() % (all.size() - i);
        std::swap(all[i], all[j]);
        visit_pair(all[i].first, all[i].second);
      }
      return;
    }
    // A small share of a big table: random picks, skipping repeats.
    std::unordered_set<const hash_detail::HashNode*> seen;
    while (seen.size() < count) {
      const hash_detail::HashNode* node = table_->random_node(random);
      if (seen.insert(node).second) visit_pair(node->field(), node->value());
    }
  }

  // HSCAN: a listpack is returned whole with cursor 0 (as Redis does); a table is walked
  // bucket by bucket with Dict's reverse-binary cursor. Returns the next cursor.
  template <typename F>
  uint64_t scan(uint64_t cursor, F&& visit_pair) const {
    if (!table_) {
      packed_.for_each(visit_pair);
      return 0;
    }
    return table_->scan(cursor, [&](const hash_detail::HashNode* node) { visit_pair(node->field(), node->value()); });
  }

 private:
  // 24 bytes in all: small hashes are numerous.
  hash_detail::PackedPairs packed_;                  // the listpack encoding (empty once converted)
  std::unique_ptr<hash_detail::HashTable> table_;    // the hashtable encoding, once converted
};

}  // namespace rd
