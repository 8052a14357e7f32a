#include "storage/skiplist.h"

#include <cstring>
#include <new>

namespace rd {

SkipNode* SkipNode::create(int level_count, double score, std::string_view member) {
  const size_t bytes = sizeof(SkipNode) + static_cast<size_t>(level_count) * sizeof(Level) + member.size();
  auto* node = new (::operator new(bytes)) SkipNode();
  node->score = score;
  node->member_length = static_cast<uint32_t>(member.size());
  node->level_count = static_cast<uint8_t>(level_count);
  for (int i = 0; i < level_count; i++) node->level(i) = Level{nullptr, 0};
  if (!member.empty()) {
    std::memcpy(reinterpret_cast<char*>(node->levels() + level_count), member.data(), member.size());
  }
  return node;
}

void SkipNode::destroy(SkipNode* node) {
  node->~SkipNode();
  ::operator delete(node);
}

SkipList::SkipList()
    : header_(SkipNode::create(kMaxLevel, 0, {})),
      // Levels only affect speed, never results, so any seed will do; the address varies it.
      random_state_(0x9E3779B97F4A7C15ULL ^ reinterpret_cast<uintptr_t>(this)) {}

SkipList::~SkipList() {
  SkipNode* x = first();
  while (x != nullptr) {
    SkipNode* next = x->following();
    SkipNode::destroy(x);
    x = next;
  }
  SkipNode::destroy(header_);
}

// Each extra level with probability 1/4, as Redis does: about 1.33 levels per node.
int SkipList::random_level() {
  int level = 1;
  while (level < kMaxLevel) {
    random_state_ ^= random_state_ << 13;
    random_state_ ^= random_state_ >> 7;
    random_state_ ^= random_state_ << 17;
    if ((random_state_ & 0xFFFF) >= 0x4000) break;
    level++;
  }
  return level;
}

void SkipList::find_predecessors(double score, std::string_view member, SkipNode** update) const {
  SkipNode* x = header_;
  for (int i = level_ - 1; i >= 0; i--) {
    while (x->level(i).forward != nullptr &&
           precedes(x->level(i).forward->score, x->level(i).forward->member(), score, member)) {
      x = x->level(i).forward;
    }
    update[i] = x;
  }
}

// Links `node` after the predecessors found for its (score, member); rank[i] is the rank of
// update[i] (0 for the header).
void SkipList::link(SkipNode* node, SkipNode** update, size_t* rank) {
  const int node_level = node->level_count;
  if (node_level > level_) {
    for (int i = level_; i < node_level; i++) {
      rank[i] = 0;
      update[i] = header_;
      update[i]->level(i).span = length_;
    }
    level_ = node_level;
  }
  for (int i = 0; i < node_level; i++) {
    node->level(i).forward = update[i]->level(i).forward;
    update[i]->level(i).forward = node;
    node->level(i).span = update[i]->level(i).span - (rank[0] - rank[i]);
    update[i]->level(i).span = (rank[0] - rank[i]) + 1;
  }
  for (int i = node_level; i < level_; i++) update[i]->level(i).span++;
  node->backward = update[0] == header_ ? nullptr : update[0];
  if (node->following() != nullptr) {
    node->following()->backward = node;
  } else {
    tail_ = node;
  }
  length_++;
}

void SkipList::unlink(SkipNode* node, SkipNode** update) {
  for (int i = 0; i < level_; i++) {
    if (update[i]->level(i).forward == node) {
      update[i]->level(i).span += node->level(i).span - 1;
      update[i]->level(i).forward = node->level(i).forward;
    } else {
      update[i]->level(i).span -= 1;
    }
  }
  if (node->following() != nullptr) {
    node->following()->backward = node->backward;
  } else {
    tail_ = node->backward;
  }
  while (level_ > 1 && header_->level(level_ - 1).forward == nullptr) level_--;
  length_--;
}

namespace {

// The predecessors of (score, member) per level, with their ranks.
void find_path(SkipNode* header, int levels, double score, std::string_view member, SkipNode** update,
               size_t* rank) {
  SkipNode* x = header;
  for (int i = levels - 1; i >= 0; i--) {
    rank[i] = i == levels - 1 ? 0 : rank[i + 1];
    while (x->level(i).forward != nullptr &&
           precedes(x->level(i).forward->score, x->level(i).forward->member(), score, member)) {
      rank[i] += x->level(i).span;
      x = x->level(i).forward;
    }
    update[i] = x;
  }
}

}  // namespace

SkipNode* SkipList::insert(double score, std::string_view member) {
  SkipNode* update[kMaxLevel];
  size_t rank[kMaxLevel];
  find_path(header_, level_, score, member, update, rank);
  SkipNode* node = SkipNode::create(random_level(), score, member);
  link(node, update, rank);
  return node;
}

void SkipList::erase(SkipNode* node) {
  SkipNode* update[kMaxLevel];
  find_predecessors(node->score, node->member(), update);
  unlink(node, update);
  SkipNode::destroy(node);
}

void SkipList::update_score(SkipNode* node, double score) {
  // Still between its neighbours: only the score changes (the common ZINCRBY case).
  const SkipNode* next = node->following();
  if ((node->backward == nullptr || node->backward->score < score) && (next == nullptr || next->score > score)) {
    node->score = score;
    return;
  }
  SkipNode* update[kMaxLevel];
  size_t rank[kMaxLevel];
  find_predecessors(node->score, node->member(), update);
  unlink(node, update);
  node->score = score;
  find_path(header_, level_, score, node->member(), update, rank);
  link(node, update, rank);
}

size_t SkipList::rank_of(const SkipNode* node) const {
  return count_prefix([node](const SkipNode* x) {
    return precedes(x->score, x->member(), node->score, node->member());
  });
}

SkipNode* SkipList::at_rank(size_t rank) const {
  const size_t target = rank + 1;  // spans count 1-based positions
  SkipNode* x = header_;
  size_t traversed = 0;
  for (int i = level_ - 1; i >= 0; i--) {
    while (x->level(i).forward != nullptr && traversed + x->level(i).span <= target) {
      traversed += x->level(i).span;
      x = x->level(i).forward;
    }
    if (traversed == target) return x;
  }
  return nullptr;
}

}  // namespace rd
