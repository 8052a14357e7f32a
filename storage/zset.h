// The sorted set type, in Redis 7.0's two encodings:
//   "listpack" — while it has at most zset-max-listpack-entries members and every member is at
//                most zset-max-listpack-value bytes: a vector of (member, score) kept in order;
//                lookups by member are linear, as in Redis, and fast at these sizes.
//   "skiplist" — otherwise: a skip list with spans (ranks in O(log n), skiplist.h) plus a hash
//                table from member to node (our Dict over the same nodes).
// Conversion is one-way, as in Redis: removing members never turns a skip list back into a
// listpack. Computed results follow Redis too: ZUNIONSTORE & co. get the encoding that fits
// the finished result (from_sorted); ZRANGESTORE starts from a size hint (with_size_hint) and
// converts while it is filled.
//
// Order: by score, ties by member bytes. Like Redis's listpack, which stores scores as text
// where -0 prints as "0", the listpack form does not keep the sign of a zero score.
//
// Not thread-safe: guarded by the keyspace lock like the database that holds it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/dict.h"
#include "storage/skiplist.h"
#include "storage/value.h"

namespace rd {

// ---- ranges (ZRANGEBYSCORE, ZRANGEBYLEX and friends) ----

struct ScoreRange {
  double min = 0;
  double max = 0;
  bool min_exclusive = false;
  bool max_exclusive = false;
};
bool score_gte_min(double score, const ScoreRange& range);
bool score_lte_max(double score, const ScoreRange& range);

// A lex bound: "-" and "+" are below and above every member; "[x" / "(x" include / exclude x.
struct LexBound {
  enum class Kind : uint8_t { kValue, kMinusInfinity, kPlusInfinity };
  Kind kind = Kind::kValue;
  bool exclusive = false;
  std::string_view value;  // a view into the command's argument
};
struct LexRange {
  LexBound min;
  LexBound max;
};
bool lex_gte_min(std::string_view member, const LexRange& range);
bool lex_lte_max(std::string_view member, const LexRange& range);
// True when no member can be in the range (min above max, or equal and one side exclusive).
bool lex_range_is_empty(const LexRange& range);

// Ranks [begin, end), 0-based in ascending order.
struct RankSpan {
  size_t begin = 0;
  size_t end = 0;
  size_t size() const { return end - begin; }
  bool empty() const { return begin == end; }
};

// ---- ZADD ----

enum ZAddFlag : unsigned {
  kZAddNx = 1u << 0,
  kZAddXx = 1u << 1,
  kZAddGt = 1u << 2,
  kZAddLt = 1u << 3,
  kZAddIncr = 1u << 4,
};

enum class ZAddResult {
  kAdded,      // a new member
  kUpdated,    // the score changed
  kUnchanged,  // processed, same score
  kSkipped,    // NX/XX/GT/LT said no
  kNaN,        // INCR produced NaN: nothing changed
};

struct ZSetEntry {
  std::string member;
  double score;
};

// A position in a sorted set, for walking ranges in either direction. Valid until the set
// changes.
class ZSetCursor {
 public:
  bool valid() const { return node_ != nullptr || (entries_ != nullptr && index_ < entries_->size()); }
  std::string_view member() const { return node_ != nullptr ? node_->member() : (*entries_)[index_].member; }
  double score() const { return node_ != nullptr ? node_->score : (*entries_)[index_].score; }
  void next() {
    if (node_ != nullptr) {
      node_ = node_->following();
    } else {
      index_++;
    }
  }
  void prev() {
    if (node_ != nullptr) {
      node_ = node_->backward;
    } else {
      index_ = index_ == 0 ? entries_->size() : index_ - 1;  // before the first: invalid
    }
  }

 private:
  friend class ZSetValue;
  const std::vector<ZSetEntry>* entries_ = nullptr;
  size_t index_ = 0;
  const SkipNode* node_ = nullptr;
};

class ZSetValue {
 public:
  ZSetValue();
  ~ZSetValue();
  ZSetValue(const ZSetValue&) = delete;
  ZSetValue& operator=(const ZSetValue&) = delete;

  size_t size() const;
  std::string_view encoding_name() const { return large_ ? "skiplist" : "listpack"; }
  bool is_listpack() const { return !large_; }
  std::unique_ptr<ZSetValue> clone() const;
  // Visits every (member, score) in ascending (score, member) order.
  void for_each(const std::function<void(std::string_view, double)>& visit) const;
  // Adds or updates `member`, converting the encoding as `limits` say; true if it is new.
  bool add(std::string_view member, double score, const EncodingLimits& limits);
  // ZADD's element step with its flags (ZAddFlag). *new_score receives the resulting score
  // unless the result is kSkipped or kNaN.
  ZAddResult add(std::string_view member, double score, unsigned flags, const EncodingLimits& limits,
                 double* new_score);

  bool score(std::string_view member, double* out) const;
  bool remove(std::string_view member);
  // 0-based ascending rank of `member`.
  bool rank(std::string_view member, size_t* out) const;

  // The ranks holding scores in `range`.
  RankSpan score_span(const ScoreRange& range) const;

  // Lex ranges assume equal scores, where the members in range are one run of ranks. With
  // unequal scores Redis's answers follow from how it walks the set, which these reproduce
  // for the listpack form (a linear walk, deterministic in Redis too); for a skip list Redis's
  // answer then depends on its random node levels anyway.
  static constexpr size_t kNoRank = static_cast<size_t>(-1);
  // The rank of the first / last member in `range`, as Redis finds it; kNoRank when none.
  size_t lex_first(const LexRange& range) const;
  size_t lex_last(const LexRange& range) const;
  // ZLEXCOUNT's answer.
  size_t lex_count(const LexRange& range) const;
  // ZREMRANGEBYLEX's ranks: from the first member in range while members stay under max.
  RankSpan lex_run(const LexRange& range) const;

  // Removes ranks [begin, end); returns how many were removed.
  size_t erase_ranks(size_t begin, size_t end);

  // A cursor on the element of 0-based `rank` (invalid when rank >= size()).
  ZSetCursor at(size_t rank) const;

  // A uniformly chosen element; REQUIRES size() > 0. `random` returns 64-bit random numbers.
  template <typename Rng>
  ZSetCursor random_element(Rng&& random) const;

  // ZSCAN: a listpack is returned whole (cursor 0); a skip list is walked through its hash
  // table's cursor. Calls visit(member, score); returns the next cursor.
  template <typename F>
  uint64_t scan(uint64_t cursor, F&& visit) const;

  // A set holding `sorted` (ascending, distinct members) in the encoding Redis gives a result
  // of that size: listpack when it fits the limits, skip list otherwise.
  static std::unique_ptr<ZSetValue> from_sorted(const std::vector<std::pair<std::string_view, double>>& sorted,
                                                const EncodingLimits& limits);
  // An empty set to be filled with about `size_hint` members (Redis's zsetTypeCreate): a skip
  // list from the start when that many would not fit a listpack. Filling a listpack converts
  // it as add() does, so which scores lost the sign of zero depends on the order of adds.
  static std::unique_ptr<ZSetValue> with_size_hint(size_t size_hint, const EncodingLimits& limits);

 private:
  struct IndexOps {
    static std::string_view key(const SkipNode* node) { return node->member(); }
    static void destroy(SkipNode*) {}  // the skip list owns the nodes
  };
  struct Large {
    SkipList list;
    Dict<SkipNode, IndexOps> index;
  };

  size_t find_compact(std::string_view member) const;
  void insert_compact(std::string_view member, double score);
  void convert_to_skiplist();
  void insert_large(std::string_view member, double score);
  ZAddResult add_compact(std::string_view member, double score, unsigned flags, const EncodingLimits& limits,
                         double* new_score);
  ZAddResult add_large(std::string_view member, double score, unsigned flags, double* new_score);
  // False when no member can be in `range` (Redis's early checks against both ends).
  bool lex_may_match(const LexRange& range) const;

  std::vector<ZSetEntry> compact_;  // the listpack form, sorted; unused once large_ exists
  std::unique_ptr<Large> large_;
};

template <typename Rng>
ZSetCursor ZSetValue::random_element(Rng&& random) const {
  ZSetCursor cursor;
  if (large_) {
    cursor.node_ = large_->index.random_node(random);
  } else {
    cursor.entries_ = &compact_;
    cursor.index_ = static_cast<size_t>(random() % compact_.size());
  }
  return cursor;
}

template <typename F>
uint64_t ZSetValue::scan(uint64_t cursor, F&& visit) const {
  if (large_) return large_->index.scan(cursor, [&](const SkipNode* node) { visit(node->member(), node->score); });
  for (const ZSetEntry& entry : compact_) visit(std::string_view(entry.member), entry.score);
  return 0;
}

}  // namespace rd
