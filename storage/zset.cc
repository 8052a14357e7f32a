#include "storage/zset.h"

#include <algorithm>
#include <cmath>

namespace rd {

// ---- ranges ----

bool score_gte_min(double score, const ScoreRange& range) {
  return range.min_exclusive ? score > range.min : score >= range.min;
}

bool score_lte_max(double score, const ScoreRange& range) {
  return range.max_exclusive ? score < range.max : score <= range.max;
}

namespace {

// Compares a member with a bound: "-" is below everything, "+" above everything.
int compare_with_bound(std::string_view member, const LexBound& bound) {
  switch (bound.kind) {
    case LexBound::Kind::kMinusInfinity: return 1;
    case LexBound::Kind::kPlusInfinity: return -1;
    case LexBound::Kind::kValue: break;
  }
  int cmp = member.compare(bound.value);
  return cmp < 0 ? -1 : (cmp > 0 ? 1 : 0);
}

int compare_bounds(const LexBound& a, const LexBound& b) {
  using Kind = LexBound::Kind;
  if (a.kind != Kind::kValue && a.kind == b.kind) return 0;
  if (a.kind == Kind::kMinusInfinity || b.kind == Kind::kPlusInfinity) return -1;
  if (a.kind == Kind::kPlusInfinity || b.kind == Kind::kMinusInfinity) return 1;
  int cmp = a.value.compare(b.value);
  return cmp < 0 ? -1 : (cmp > 0 ? 1 : 0);
}

// The listpack form's score: Redis stores it as text in which -0 reads back as 0.
double listpack_score(double score) { return score + 0.0; }

bool entry_precedes(const ZSetEntry& entry, double score, std::string_view member) {
  return precedes(entry.score, entry.member, score, member);
}

}  // namespace

bool lex_gte_min(std::string_view member, const LexRange& range) {
  int cmp = compare_with_bound(member, range.min);
  return range.min.exclusive ? cmp > 0 : cmp >= 0;
}

bool lex_lte_max(std::string_view member, const LexRange& range) {
  int cmp = compare_with_bound(member, range.max);
  return range.max.exclusive ? cmp < 0 : cmp <= 0;
}

bool lex_range_is_empty(const LexRange& range) {
  int cmp = compare_bounds(range.min, range.max);
  return cmp > 0 || (cmp == 0 && (range.min.exclusive || range.max.exclusive));
}

// ---- ZSetValue ----

ZSetValue::ZSetValue() = default;
ZSetValue::~ZSetValue() = default;

size_t ZSetValue::size() const { return large_ ? large_->list.size() : compact_.size(); }

std::unique_ptr<ZSetValue> ZSetValue::clone() const {
  auto copy = std::make_unique<ZSetValue>();
  if (!large_) {
    copy->compact_ = compact_;
    return copy;
  }
  copy->large_ = std::make_unique<Large>();
  copy->large_->index.reserve(size());
  for (const SkipNode* n = large_->list.first(); n != nullptr; n = n->following()) {
    copy->insert_large(n->member(), n->score);
  }
  return copy;
}

void ZSetValue::for_each(const std::function<void(std::string_view, double)>& visit) const {
  if (large_) {
    for (const SkipNode* n = large_->list.first(); n != nullptr; n = n->following()) visit(n->member(), n->score);
    return;
  }
  for (const ZSetEntry& entry : compact_) visit(entry.member, entry.score);
}

bool ZSetValue::add(std::string_view member, double score, const EncodingLimits& limits) {
  double ignored = 0;
  return add(member, score, 0, limits, &ignored) == ZAddResult::kAdded;
}

size_t ZSetValue::find_compact(std::string_view member) const {
  for (size_t i = 0; i < compact_.size(); i++) {
    if (compact_[i].member == member) return i;
  }
  return compact_.size();
}

void ZSetValue::insert_compact(std::string_view member, double score) {
  score = listpack_score(score);
  auto position = std::lower_bound(compact_.begin(), compact_.end(), 0, [&](const ZSetEntry& entry, int) {
    return entry_precedes(entry, score, member);
  });
  compact_.insert(position, ZSetEntry{std::string(member), score});
}

void ZSetValue::insert_large(std::string_view member, double score) {
  large_->index.insert(large_->list.insert(score, member));
}

void ZSetValue::convert_to_skiplist() {
  large_ = std::make_unique<Large>();
  large_->index.reserve(compact_.size() + 1);
  for (const ZSetEntry& entry : compact_) insert_large(entry.member, entry.score);
  std::vector<ZSetEntry>().swap(compact_);
}

ZAddResult ZSetValue::add(std::string_view member, double score, unsigned flags, const EncodingLimits& limits,
                          double* new_score) {
  if (std::isnan(score)) return ZAddResult::kNaN;
  if (!large_) return add_compact(member, score, flags, limits, new_score);
  return add_large(member, score, flags, new_score);
}

namespace {

// The shared rules for a member that exists: NX, INCR, GT/LT. False when nothing is to be
// done (*result says why).
bool resolve_update(double current, double* score, unsigned flags, ZAddResult* result) {
  if (flags & kZAddNx) {
    *result = ZAddResult::kSkipped;
    return false;
  }
  if (flags & kZAddIncr) {
    *score += current;
    if (std::isnan(*score)) {
      *result = ZAddResult::kNaN;
      return false;
    }
  }
  if (((flags & kZAddLt) && *score >= current) || ((flags & kZAddGt) && *score <= current)) {
    *result = ZAddResult::kSkipped;
    return false;
  }
  return true;
}

}  // namespace

ZAddResult ZSetValue::add_compact(std::string_view member, double score, unsigned flags,
                                  const EncodingLimits& limits, double* new_score) {
  size_t index = find_compact(member);
  if (index < compact_.size()) {
    ZAddResult result = ZAddResult::kUnchanged;
    const double current = compact_[index].score;
    if (!resolve_update(current, &score, flags, &result)) return result;
    *new_score = score;
    if (score == current) return ZAddResult::kUnchanged;
    compact_.erase(compact_.begin() + static_cast<std::ptrdiff_t>(index));
    insert_compact(member, score);
    return ZAddResult::kUpdated;
  }
  if (flags & kZAddXx) return ZAddResult::kSkipped;
  *new_score = score;
  if (compact_.size() + 1 > limits.zset_max_listpack_entries || member.size() > limits.zset_max_listpack_value) {
    convert_to_skiplist();
    insert_large(member, score);
  } else {
    insert_compact(member, score);
  }
  return ZAddResult::kAdded;
}

ZAddResult ZSetValue::add_large(std::string_view member, double score, unsigned flags, double* new_score) {
  SkipNode* node = large_->index.find(member);
  if (node != nullptr) {
    ZAddResult result = ZAddResult::kUnchanged;
    const double current = node->score;
    if (!resolve_update(current, &score, flags, &result)) return result;
    *new_score = score;
    if (score == current) return ZAddResult::kUnchanged;
    large_->list.update_score(node, score);
    return ZAddResult::kUpdated;
  }
  if (flags & kZAddXx) return ZAddResult::kSkipped;
  *new_score = score;
  insert_large(member, score);
  return ZAddResult::kAdded;
}

bool ZSetValue::score(std::string_view member, double* out) const {
  if (large_) {
    const SkipNode* node = large_->index.find(member);
    if (node == nullptr) return false;
    *out = node->score;
    return true;
  }
  size_t index = find_compact(member);
  if (index == compact_.size()) return false;
  *out = compact_[index].score;
  return true;
}

bool ZSetValue::remove(std::string_view member) {
  if (large_) {
    SkipNode* node = large_->index.unlink(member);
    if (node == nullptr) return false;
    large_->list.erase(node);
    return true;
  }
  size_t index = find_compact(member);
  if (index == compact_.size()) return false;
  compact_.erase(compact_.begin() + static_cast<std::ptrdiff_t>(index));
  return true;
}

bool ZSetValue::rank(std::string_view member, size_t* out) const {
  if (large_) {
    const SkipNode* node = large_->index.find(member);
    if (node == nullptr) return false;
    *out = large_->list.rank_of(node);
    return true;
  }
  size_t index = find_compact(member);
  if (index == compact_.size()) return false;
  *out = index;
  return true;
}

RankSpan ZSetValue::score_span(const ScoreRange& range) const {
  if (range.min > range.max || (range.min == range.max && (range.min_exclusive || range.max_exclusive))) {
    return {};
  }
  // Scores are ordered, so "below min" and "up to max" are both prefixes.
  auto below_min = [&](double score) { return !score_gte_min(score, range); };
  auto up_to_max = [&](double score) { return score_lte_max(score, range); };
  RankSpan span;
  if (large_) {
    span.begin = large_->list.count_prefix([&](const SkipNode* n) { return below_min(n->score); });
    span.end = large_->list.count_prefix([&](const SkipNode* n) { return up_to_max(n->score); });
  } else {
    auto first = compact_.begin();
    span.begin = static_cast<size_t>(
        std::partition_point(first, compact_.end(), [&](const ZSetEntry& e) { return below_min(e.score); }) - first);
    span.end = static_cast<size_t>(
        std::partition_point(first, compact_.end(), [&](const ZSetEntry& e) { return up_to_max(e.score); }) - first);
  }
  if (span.end < span.begin) span.end = span.begin;
  return span;
}

bool ZSetValue::lex_may_match(const LexRange& range) const {
  if (lex_range_is_empty(range) || size() == 0) return false;
  const std::string_view first = large_ ? large_->list.first()->member() : std::string_view(compact_.front().member);
  const std::string_view last = large_ ? large_->list.last()->member() : std::string_view(compact_.back().member);
  return lex_gte_min(last, range) && lex_lte_max(first, range);
}

size_t ZSetValue::lex_first(const LexRange& range) const {
  if (!lex_may_match(range)) return kNoRank;
  size_t rank = 0;
  if (large_) {
    rank = large_->list.count_prefix([&](const SkipNode* n) { return !lex_gte_min(n->member(), range); });
  } else {
    while (rank < compact_.size() && !lex_gte_min(compact_[rank].member, range)) rank++;
  }
  if (rank >= size() || !lex_lte_max(at(rank).member(), range)) return kNoRank;
  return rank;
}

size_t ZSetValue::lex_last(const LexRange& range) const {
  if (!lex_may_match(range)) return kNoRank;
  size_t end = compact_.size();  // one past the last member under max
  if (large_) {
    end = large_->list.count_prefix([&](const SkipNode* n) { return lex_lte_max(n->member(), range); });
  } else {
    while (end > 0 && !lex_lte_max(compact_[end - 1].member, range)) end--;
  }
  if (end == 0 || !lex_gte_min(at(end - 1).member(), range)) return kNoRank;
  return end - 1;
}

size_t ZSetValue::lex_count(const LexRange& range) const {
  // Redis walks a listpack from the first member in range, but counts a skip list by the
  // ranks of the first and the last.
  if (!large_) return lex_run(range).size();
  const size_t first = lex_first(range);
  if (first == kNoRank) return 0;
  const size_t last = lex_last(range);
  return last == kNoRank ? size() - first : last - first + 1;
}

RankSpan ZSetValue::lex_run(const LexRange& range) const {
  const size_t first = lex_first(range);
  if (first == kNoRank) return {};
  RankSpan span{first, first};
  for (ZSetCursor c = at(first); c.valid() && lex_lte_max(c.member(), range); c.next()) span.end++;
  return span;
}

size_t ZSetValue::erase_ranks(size_t begin, size_t end) {
  end = std::min(end, size());
  if (begin >= end) return 0;
  if (large_) {
    large_->list.erase_ranks(begin, end, [&](SkipNode* node) { large_->index.unlink(node->member()); });
  } else {
    compact_.erase(compact_.begin() + static_cast<std::ptrdiff_t>(begin),
                   compact_.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return end - begin;
}

ZSetCursor ZSetValue::at(size_t rank) const {
  ZSetCursor cursor;
  if (large_) {
    if (rank < large_->list.size()) cursor.node_ = large_->list.at_rank(rank);
  } else {
    cursor.entries_ = &compact_;
    cursor.index_ = rank;
  }
  return cursor;
}

std::unique_ptr<ZSetValue> ZSetValue::with_size_hint(size_t size_hint, const EncodingLimits& limits) {
  auto zset = std::make_unique<ZSetValue>();
  if (size_hint > limits.zset_max_listpack_entries) {
    zset->large_ = std::make_unique<Large>();
    zset->large_->index.reserve(size_hint);
  }
  return zset;
}

std::unique_ptr<ZSetValue> ZSetValue::from_sorted(const std::vector<std::pair<std::string_view, double>>& sorted,
                                                  const EncodingLimits& limits) {
  auto zset = std::make_unique<ZSetValue>();
  size_t longest = 0;
  for (const auto& [member, score] : sorted) longest = std::max(longest, member.size());
  if (sorted.size() <= limits.zset_max_listpack_entries && longest <= limits.zset_max_listpack_value) {
    zset->compact_.reserve(sorted.size());
    for (const auto& [member, score] : sorted) {
      zset->compact_.push_back(ZSetEntry{std::string(member), listpack_score(score)});
    }
    return zset;
  }
  zset->large_ = std::make_unique<Large>();
  zset->large_->index.reserve(sorted.size());
  for (const auto& [member, score] : sorted) zset->insert_large(member, score);
  return zset;
}

}  // namespace rd
