// The set type, in Redis 7.0's two encodings:
//   "intset"    — while every member is the canonical text of an int64 (Redis's string2ll rules:
//                 no "+", "-0", leading zeros or spaces) and there are at most
//                 set-max-intset-entries of them: sorted integers packed at 2, 4 or 8 bytes
//                 each, iterated in ascending order like Redis's intset (so SMEMBERS of such a
//                 set is sorted).
//   "hashtable" — otherwise: our Dict, one node per member holding its bytes inline.
// Conversion is one-way except where Redis rebuilds a set (SPOP's big-count path builds a new
// set from the members that stay, choosing its encoding afresh).
//
// Not thread-safe: guarded by the keyspace lock like the database that holds it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "storage/compact_buffer.h"
#include "storage/dict.h"
#include "storage/numbers.h"
#include "storage/value.h"

namespace rd {

namespace set_detail {

// The "intset" encoding: sorted integers packed at the smallest width (2, 4 or 8 bytes) that
// holds them all; like Redis's intset, the width only ever grows.
class IntSet {
 public:
  size_t size() const { return buffer_.size() / width(); }
  size_t bytes() const { return buffer_.size(); }
  int64_t at(size_t index) const;
  bool contains(int64_t value) const;
  // Adds `value`; false if it was already there.
  bool insert(int64_t value);
  // Removes `value`; false if it was not there.
  bool erase(int64_t value);
  void erase_at(size_t index);

 private:
  size_t width() const { return buffer_.aux == 0 ? 2 : buffer_.aux; }
  // The index of the first element >= value.
  size_t lower_bound(int64_t value) const;
  void write(size_t index, int64_t value);
  void widen(size_t width);

  CompactBuffer buffer_;  // aux: the element width in bytes (0 while empty = 2)
};

// A member of the "hashtable" encoding: its bytes follow the struct in one allocation.
struct SetNode {
  SetNode* next = nullptr;  // chain link, owned by the Dict
  uint32_t length = 0;

  std::string_view member() const { return {reinterpret_cast<const char*>(this + 1), length}; }
  static SetNode* create(std::string_view member);
  static void destroy(SetNode* node);
};

struct SetNodeOps {
  static std::string_view key(const SetNode* node) { return node->member(); }
  static void destroy(SetNode* node) { SetNode::destroy(node); }
};

using SetTable = Dict<SetNode, SetNodeOps>;

}  // namespace set_detail

// Room to format an intset member as text (members are handed out as string_views).
struct IntText {
  char bytes[kInt64BufSize];
  std::string_view format(int64_t value) { return {bytes, format_int64(value, bytes)}; }
};

class SetValue {
 public:
  size_t size() const { return table_ ? table_->size() : ints_.size(); }
  bool empty() const { return size() == 0; }
  std::string_view encoding_name() const { return table_ ? "hashtable" : "intset"; }
  bool is_intset() const { return !table_; }
  std::unique_ptr<SetValue> clone() const;

  // Visits every member (ascending for an intset, table order otherwise).
  void for_each(const std::function<void(std::string_view)>& visit) const;
  // The same without the std::function indirection (command hot paths).
  template <typename F>
  void visit(F&& visit_member) const {
    visit_while([&](std::string_view member) {
      visit_member(member);
      return true;
    });
  }
  // Like visit, but stops as soon as `visit_member` returns false (SINTERCARD's LIMIT).
  template <typename F>
  void visit_while(F&& visit_member) const {
    if (table_) {
      for (size_t bucket = 0; bucket < table_->bucket_count(); bucket++) {
        for (const set_detail::SetNode* node = table_->bucket_head(bucket); node != nullptr; node = node->next) {
          if (!visit_member(node->member())) return;
        }
      }
      return;
    }
    IntText text;
    for (size_t i = 0; i < ints_.size(); i++) {
      if (!visit_member(text.format(ints_.at(i)))) return;
    }
  }

  // Adds `member`, converting the encoding as `limits` say; returns false if already present.
  bool add(std::string_view member, const EncodingLimits& limits);
  bool contains(std::string_view member) const;
  // Removes `member`; returns whether it was present.
  bool remove(std::string_view member);
  void convert_to_table();

  // A random member of a non-empty set (uniform for an intset; a table member is picked like
  // Redis's dictGetFairRandomKey: random bucket, random chain element). The view is valid
  // until the set changes or `text` is reused.
  template <typename Rng>
  std::string_view random_member(Rng&& random, IntText& text) const {
    if (table_) return table_->random_node(random)->member();
    return text.format(ints_.at(random() % ints_.size()));
  }

  // Removes and returns a random member of a non-empty set (SPOP).
  template <typename Rng>
  std::string pop_random(Rng&& random) {
    if (table_) {
      std::string member(table_->random_node(random)->member());
      table_->erase(member);
      return member;
    }
    size_t index = random() % ints_.size();
    IntText text;
    std::string member(text.format(ints_.at(index)));
    ints_.erase_at(index);
    return member;
  }

  // Visits `count` random members, repetitions allowed (SRANDMEMBER with a negative count).
  template <typename Rng, typename F>
  void sample_with_repetition(size_t count, Rng&& random, F&& visit_member) const {
    IntText text;
    while (count-- > 0) visit_member(random_member(random, text));
  }

  // Visits `count` distinct random members (count < size()), in random order.
  template <typename Rng, typename F>
  void sample_distinct(size_t count, Rng&& random, F&& visit_member) const {
    if (!table_) {
      std::vector<int64_t> all(ints_.size());
      for (size_t i = 0; i < all.size(); i++) all[i] = ints_.at(i);
      IntText text;
      for (size_t i = 0; i < count; i++) {
        std::swap(all[i], all[i + random() % (all.size() - i)]);
        visit_member(text.format(all[i]));
      }
      return;
    }
    if (count * 3 > table_->size()) {
      // Close to the whole set: shuffle the first `count` of all members (partial Fisher-Yates).
      std::vector<const set_detail::SetNode*> all;
      all.reserve(table_->size());
      table_->for_each([&](const set_detail::SetNode* node) { all.push_back(node); });
      for (size_t i = 0; i < count; i++) {
        std::swap(all[i], all[i + random() % (all.size() - i)]);
        visit_member(all[i]->member());
      }
      return;
    }
    // A small share of a big table: random picks, skipping repeats.
    std::unordered_set<const set_detail::SetNode*> seen;
    while (seen.size() < count) {
      const set_detail::SetNode* node = table_->random_node(random);
      if (seen.insert(node).second) visit_member(node->member());
    }
  }

  // SSCAN: an intset is returned whole with cursor 0 (as Redis does); a table is walked bucket
  // by bucket with Dict's reverse-binary cursor. Returns the next cursor.
  template <typename F>
  uint64_t scan(uint64_t cursor, F&& visit_member) const {
    if (!table_) {
      visit(visit_member);
      return 0;
    }
    return table_->scan(cursor, [&](const set_detail::SetNode* node) { visit_member(node->member()); });
  }

 private:
  // 24 bytes in all: small sets are numerous.
  set_detail::IntSet ints_;                        // the intset encoding (empty once converted)
  std::unique_ptr<set_detail::SetTable> table_;    // the hashtable encoding, once converted
};

}  // namespace rd
