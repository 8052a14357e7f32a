// An intrusive chained hash table keyed by byte strings, the building block of the keyspace
// and of the large encodings of hashes, sets and sorted sets.
//
// Why not std::unordered_map: we need (1) SCAN's guarantee (a cursor walk returns every element
// present for the whole walk, even across resizes) which needs power-of-two tables walked in
// reverse-binary order, (2) fair random sampling (RANDOMKEY, SPOP, active expiry), and (3) nodes
// that hold their key inline, saving an allocation per key.
//
// A Node is any type with a `Node* next` member; Ops supplies
//   static std::string_view key(const Node*);   // the node's key bytes
//   static void destroy(Node*);                  // frees a node the table owns
// The table owns its nodes. Not thread-safe: the caller holds the lock that guards it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

#include "storage/hashing.h"

namespace rd {

template <typename Node, typename Ops>
class Dict {
 public:
  Dict() = default;
  ~Dict() { clear(); }
  Dict(const Dict&) = delete;
  Dict& operator=(const Dict&) = delete;
  Dict(Dict&& other) noexcept { swap(other); }
  Dict& operator=(Dict&& other) noexcept {
    if (this != &other) {
      clear();
      swap(other);
    }
    return *this;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t bucket_count() const { return bucket_count_; }

  Node* find(std::string_view key) const {
    if (size_ == 0) return nullptr;
    for (Node* n = buckets_[bucket_of(key)]; n != nullptr; n = n->next) {
      if (Ops::key(n) == key) return n;
    }
    return nullptr;
  }

  // Links `node` into the table. Its key must not be present already.
  void insert(Node* node) {
    if (size_ >= bucket_count_) resize(bucket_count_ == 0 ? kMinBuckets : bucket_count_ * 2);
    Node*& head = buckets_[bucket_of(Ops::key(node))];
    node->next = head;
    head = node;
    size_++;
  }

  // Unlinks the node with `key` and hands it to the caller (nullptr when absent).
  Node* unlink(std::string_view key) {
    if (size_ == 0) return nullptr;
    Node** link = &buckets_[bucket_of(key)];
    while (*link != nullptr) {
      Node* n = *link;
      if (Ops::key(n) == key) {
        *link = n->next;
        n->next = nullptr;
        size_--;
        maybe_shrink();
        return n;
      }
      link = &n->next;
    }
    return nullptr;
  }

  // Removes and destroys the node with `key`; returns whether it existed.
  bool erase(std::string_view key) {
    Node* n = unlink(key);
    if (n == nullptr) return false;
    Ops::destroy(n);
    return true;
  }

  // Puts `fresh` where `old` is (same key), e.g. after a node was reallocated; returns `old`.
  Node* replace(Node* old, Node* fresh) {
    Node** link = &buckets_[bucket_of(Ops::key(old))];
    while (*link != old) link = &(*link)->next;
    fresh->next = old->next;
    *link = fresh;
    old->next = nullptr;
    return old;
  }

  void clear() {
    for (size_t i = 0; i < bucket_count_; i++) {
      Node* n = buckets_[i];
      while (n != nullptr) {
        Node* next = n->next;
        Ops::destroy(n);
        n = next;
      }
    }
    buckets_.reset();
    bucket_count_ = 0;
    size_ = 0;
  }

  void swap(Dict& other) noexcept {
    std::swap(buckets_, other.buckets_);
    std::swap(bucket_count_, other.bucket_count_);
    std::swap(size_, other.size_);
  }

  // Pre-sizes the table for `count` elements (RDB load, copies).
  void reserve(size_t count) {
    size_t target = kMinBuckets;
    while (target < count) target *= 2;
    if (target > bucket_count_) resize(target);
  }

  template <typename F>
  void for_each(F&& visit) const {
    for (size_t i = 0; i < bucket_count_; i++) {
      for (Node* n = buckets_[i]; n != nullptr;) {
        Node* next = n->next;  // `visit` may not unlink, but reading next first is cheap safety
        visit(n);
        n = next;
      }
    }
  }

  // Visits every node of the bucket named by `cursor` and returns the next cursor (0 = done).
  // The cursor counts in reverse-binary order, so elements present during the whole walk are
  // visited at least once even if the table grows or shrinks between calls.
  template <typename F>
  uint64_t scan(uint64_t cursor, F&& visit) const {
    if (bucket_count_ == 0) return 0;
    const uint64_t mask = bucket_count_ - 1;
    for (Node* n = buckets_[cursor & mask]; n != nullptr; n = n->next) visit(n);
    cursor |= ~mask;
    cursor = reverse_bits(cursor);
    cursor++;
    return reverse_bits(cursor);
  }

  // A random node (nullptr when empty), every node equally likely: pick a bucket and a slot
  // in it, and retry when the slot is past the chain's end, so that nodes in long chains are
  // not under-sampled (SRANDMEMBER with negative counts is checked for fairness).
  template <typename Rng>
  Node* random_node(Rng&& random) const {
    if (size_ == 0) return nullptr;
    const uint64_t mask = bucket_count_ - 1;
    constexpr size_t kSlots = 8;  // longer chains are vanishingly rare at our load factors
    while (true) {
      Node* n = buckets_[random() & mask];
      if (n == nullptr) continue;
      size_t chain = 0;
      for (Node* m = n; m != nullptr; m = m->next) chain++;
      size_t slot = random() % std::max(kSlots, chain);
      if (slot >= chain) continue;
      while (slot-- > 0) n = n->next;
      return n;
    }
  }

  // The first node of bucket `index` (for callers that walk buckets themselves).
  Node* bucket_head(size_t index) const { return index < bucket_count_ ? buckets_[index] : nullptr; }

 private:
  static constexpr size_t kMinBuckets = 4;

  static uint64_t reverse_bits(uint64_t v) {
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    return __builtin_bswap64(v);
  }

  size_t bucket_of(std::string_view key) const { return hash_bytes(key) & (bucket_count_ - 1); }

  void maybe_shrink() {
    // Shrink when under 1/8 full, so sampling stays cheap and memory is returned.
    if (bucket_count_ > kMinBuckets && size_ * 8 < bucket_count_) {
      size_t target = kMinBuckets;
      while (target < size_ * 2) target *= 2;
      resize(target);
    } else if (size_ == 0) {
      buckets_.reset();
      bucket_count_ = 0;
    }
  }

  void resize(size_t new_count) {
    auto fresh = std::make_unique<Node*[]>(new_count);  // value-initialized: all null
    const size_t mask = new_count - 1;
    for (size_t i = 0; i < bucket_count_; i++) {
      Node* n = buckets_[i];
      while (n != nullptr) {
        Node* next = n->next;
        Node*& head = fresh[hash_bytes(Ops::key(n)) & mask];
        n->next = head;
        head = n;
        n = next;
      }
    }
    buckets_ = std::move(fresh);
    bucket_count_ = new_count;
  }

  std::unique_ptr<Node*[]> buckets_;
  size_t bucket_count_ = 0;
  size_t size_ = 0;
};

}  // namespace rd
