// The ordered index of a large sorted set: a skip list ordered by (score, member bytes), where
// every forward link also records its span (how many elements it jumps over), so the rank of an
// element and the element at a rank are both O(log n).
//
// Each element is one SkipNode allocation holding its levels and its member bytes inline. The
// node also carries the chain link of the member -> node hash table (ZSetValue keeps a
// Dict<SkipNode, ...> over the same nodes), so an element costs a single allocation. The list
// owns its nodes; the hash table only indexes them.
//
// Not thread-safe: guarded by the keyspace lock like the value that holds it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rd {

struct SkipNode {
  struct Level {
    SkipNode* forward;
    size_t span;  // elements between this node and `forward` (the forward one included)
  };

  SkipNode* next = nullptr;      // chain link of the member index (Dict)
  SkipNode* backward = nullptr;  // previous element (nullptr for the first)
  double score = 0;
  uint32_t member_length = 0;
  uint8_t level_count = 0;

  Level* levels() { return reinterpret_cast<Level*>(this + 1); }
  const Level* levels() const { return reinterpret_cast<const Level*>(this + 1); }
  Level& level(int i) { return levels()[i]; }
  const Level& level(int i) const { return levels()[i]; }
  std::string_view member() const {
    return {reinterpret_cast<const char*>(levels() + level_count), member_length};
  }
  SkipNode* following() const { return level(0).forward; }

  // One allocation: the node, its levels, then the member bytes (like KeyEntry::create).
  static SkipNode* create(int level_count, double score, std::string_view member);
  static void destroy(SkipNode* node);
};

// Sorted-set order: by score, ties by member bytes (memcmp, then length).
inline bool precedes(double score_a, std::string_view member_a, double score_b, std::string_view member_b) {
  return score_a < score_b || (score_a == score_b && member_a < member_b);
}

class SkipList {
 public:
  static constexpr int kMaxLevel = 32;

  SkipList();
  ~SkipList();
  SkipList(const SkipList&) = delete;
  SkipList& operator=(const SkipList&) = delete;

  size_t size() const { return length_; }
  SkipNode* first() const { return header_->level(0).forward; }
  SkipNode* last() const { return tail_; }

  // Adds an element whose member is not in the list yet; returns its node (owned by the list).
  SkipNode* insert(double score, std::string_view member);
  // Unlinks and frees `node`.
  void erase(SkipNode* node);
  // Gives `node` a new score, moving it when its position changes. The node stays valid.
  void update_score(SkipNode* node, double score);
  // Removes the elements of ranks [begin, end) (0-based), calling on_remove(node) for each
  // before it is freed (the owner drops it from its member index there).
  template <typename F>
  void erase_ranks(size_t begin, size_t end, F&& on_remove);

  // 0-based rank of `node`.
  size_t rank_of(const SkipNode* node) const;
  // The node at 0-based `rank`; REQUIRES rank < size().
  SkipNode* at_rank(size_t rank) const;
  // How many elements, from the first, satisfy `before(node)`. REQUIRES: the elements that
  // satisfy it form a prefix of the list (e.g. "score < x"). O(log n).
  template <typename Pred>
  size_t count_prefix(Pred&& before) const;

  // Number of levels in use (for tests).
  int levels_in_use() const { return level_; }
  const SkipNode* header() const { return header_; }

 private:
  int random_level();
  // Fills update[] with, per level, the last node that precedes (score, member).
  void find_predecessors(double score, std::string_view member, SkipNode** update) const;
  void link(SkipNode* node, SkipNode** update, size_t* rank);
  void unlink(SkipNode* node, SkipNode** update);

  SkipNode* header_;
  SkipNode* tail_ = nullptr;
  size_t length_ = 0;
  int level_ = 1;
  uint64_t random_state_;
};

template <typename Pred>
size_t SkipList::count_prefix(Pred&& before) const {
  const SkipNode* x = header_;
  size_t count = 0;
  for (int i = level_ - 1; i >= 0; i--) {
    while (x->level(i).forward != nullptr && before(x->level(i).forward)) {
      count += x->level(i).span;
      x = x->level(i).forward;
    }
  }
  return count;
}

template <typename F>
void SkipList::erase_ranks(size_t begin, size_t end, F&& on_remove) {
  if (begin >= end) return;
  SkipNode* update[kMaxLevel];
  SkipNode* x = header_;
  size_t traversed = 0;
  for (int i = level_ - 1; i >= 0; i--) {
    while (x->level(i).forward != nullptr && traversed + x->level(i).span <= begin) {
      traversed += x->level(i).span;
      x = x->level(i).forward;
    }
    update[i] = x;
  }
  // The same predecessors stay valid for each following node, as every removal in between
  // updates them in place.
  x = x->level(0).forward;
  for (size_t n = begin; n < end && x != nullptr; n++) {
    SkipNode* next = x->level(0).forward;
    unlink(x, update);
    on_remove(x);
    SkipNode::destroy(x);
    x = next;
  }
}

}  // namespace rd
