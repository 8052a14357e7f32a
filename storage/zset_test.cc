#include "storage/zset.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace rd {
namespace {

using Element = std::pair<double, std::string>;  // the model orders like a sorted set
using Model = std::set<Element>;

constexpr double kInf = std::numeric_limits<double>::infinity();

// Walks every level of the skip list and checks it against the level-0 order: each forward
// link's span equals the rank distance it jumps, backward links mirror forward ones, ranks
// and positions agree both ways.
void check_invariants(const SkipList& list) {
  std::vector<const SkipNode*> order;
  for (const SkipNode* n = list.first(); n != nullptr; n = n->following()) order.push_back(n);
  REQUIRE(order.size() == list.size());
  CHECK(list.last() == (order.empty() ? nullptr : order.back()));
  for (size_t i = 0; i < order.size(); i++) {
    CHECK(order[i]->backward == (i == 0 ? nullptr : order[i - 1]));
    if (i > 0) CHECK(precedes(order[i - 1]->score, order[i - 1]->member(), order[i]->score, order[i]->member()));
    CHECK(list.rank_of(order[i]) == i);
    CHECK(list.at_rank(i) == order[i]);
  }
  auto rank_of = [&](const SkipNode* node) -> size_t {  // header = 0, elements 1-based
    if (node == list.header()) return 0;
    for (size_t i = 0; i < order.size(); i++) {
      if (order[i] == node) return i + 1;
    }
    FAIL("node not in the list");
    return 0;
  };
  for (int level = 0; level < list.levels_in_use(); level++) {
    const SkipNode* x = list.header();
    while (x->level(level).forward != nullptr) {
      const SkipNode* next = x->level(level).forward;
      CHECK(next->level_count > level);
      CHECK(x->level(level).span == rank_of(next) - rank_of(x));
      x = next;
    }
  }
  for (int level = list.levels_in_use(); level < SkipList::kMaxLevel; level++) {
    CHECK(list.header()->level(level).forward == nullptr);
  }
}

std::vector<Element> contents(const ZSetValue& zset) {
  std::vector<Element> out;
  zset.for_each([&](std::string_view member, double score) { out.emplace_back(score, std::string(member)); });
  return out;
}

std::vector<Element> model_contents(const Model& model) { return {model.begin(), model.end()}; }

// The model's member -> score lookup.
const Element* model_find(const Model& model, const std::string& member) {
  for (const Element& e : model) {
    if (e.second == member) return &e;
  }
  return nullptr;
}

EncodingLimits limits_with(size_t entries, size_t value = 64) {
  EncodingLimits limits;
  limits.zset_max_listpack_entries = entries;
  limits.zset_max_listpack_value = value;
  return limits;
}

TEST_CASE("skiplist: ranks and spans hold under random inserts, updates and deletes") {
  std::mt19937_64 rng(12345);
  SkipList list;
  Model model;
  std::vector<SkipNode*> nodes;  // live nodes, to pick victims from
  for (int step = 0; step < 3000; step++) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 5 || nodes.empty()) {
      std::string member = "m" + std::to_string(rng() % 100000);
      double score = static_cast<double>(rng() % 20) / 2;  // many ties: member order matters
      bool present = false;
      for (const SkipNode* n : nodes) present = present || n->member() == member;
      if (present) continue;
      nodes.push_back(list.insert(score, member));
      model.emplace(score, member);
    } else if (op < 8) {
      size_t victim = rng() % nodes.size();
      model.erase({nodes[victim]->score, std::string(nodes[victim]->member())});
      list.erase(nodes[victim]);
      nodes.erase(nodes.begin() + static_cast<std::ptrdiff_t>(victim));
    } else {
      SkipNode* node = nodes[rng() % nodes.size()];
      double score = static_cast<double>(rng() % 20) / 2;
      model.erase({node->score, std::string(node->member())});
      list.update_score(node, score);
      model.emplace(score, std::string(node->member()));
    }
    if (step % 97 == 0) check_invariants(list);
  }
  check_invariants(list);
  std::vector<Element> walked;
  for (const SkipNode* n = list.first(); n != nullptr; n = n->following()) {
    walked.emplace_back(n->score, std::string(n->member()));
  }
  CHECK(walked == model_contents(model));
}

TEST_CASE("skiplist: erase_ranks removes exactly the span and keeps spans right") {
  for (size_t begin : {0u, 1u, 17u, 99u}) {
    for (size_t end : {0u, 1u, 18u, 50u, 100u, 150u}) {
      SkipList list;
      for (int i = 0; i < 100; i++) list.insert(i % 7, "m" + std::to_string(1000 + i));
      std::vector<std::string> expected;
      size_t rank = 0;
      for (const SkipNode* n = list.first(); n != nullptr; n = n->following(), rank++) {
        if (rank < begin || rank >= end) expected.emplace_back(n->member());
      }
      std::vector<std::string> removed;
      list.erase_ranks(begin, end, [&](SkipNode* node) { removed.emplace_back(node->member()); });
      CHECK(removed.size() == (end > begin ? std::min<size_t>(end, 100) - begin : 0));
      std::vector<std::string> left;
      for (const SkipNode* n = list.first(); n != nullptr; n = n->following()) left.emplace_back(n->member());
      CHECK(left == expected);
      check_invariants(list);
    }
  }
}

TEST_CASE("skiplist: count_prefix finds score bounds") {
  SkipList list;
  for (int i = 0; i < 50; i++) list.insert(i / 5, "m" + std::to_string(i));  // scores 0..9, 5 each
  CHECK(list.count_prefix([](const SkipNode* n) { return n->score < 3; }) == 15);
  CHECK(list.count_prefix([](const SkipNode* n) { return n->score <= 3; }) == 20);
  CHECK(list.count_prefix([](const SkipNode* n) { return n->score < -1; }) == 0);
  CHECK(list.count_prefix([](const SkipNode* n) { return n->score < 100; }) == 50);
}

// Runs the same random operations on a ZSetValue and the model, in either encoding.
void random_against_model(const EncodingLimits& limits, uint64_t seed) {
  std::mt19937_64 rng(seed);
  ZSetValue zset;
  Model model;
  for (int step = 0; step < 2000; step++) {
    std::string member = "m" + std::to_string(rng() % 60);
    double score = static_cast<double>(static_cast<int>(rng() % 11) - 5);
    const Element* existing = model_find(model, member);
    switch (rng() % 4) {
      case 0:
      case 1: {
        double new_score = 0;
        ZAddResult result = zset.add(member, score, 0, limits, &new_score);
        if (existing == nullptr) {
          CHECK(result == ZAddResult::kAdded);
        } else {
          CHECK(result == (existing->first == score ? ZAddResult::kUnchanged : ZAddResult::kUpdated));
          model.erase(*existing);
        }
        model.emplace(score, member);
        break;
      }
      case 2: {
        double new_score = 0;
        ZAddResult result = zset.add(member, score, kZAddIncr | kZAddXx, limits, &new_score);
        if (existing == nullptr) {
          CHECK(result == ZAddResult::kSkipped);
        } else {
          double sum = existing->first + score;
          CHECK(new_score == sum);
          model.erase(*existing);
          model.emplace(sum + 0.0, member);
        }
        break;
      }
      default:
        CHECK(zset.remove(member) == (existing != nullptr));
        if (existing != nullptr) model.erase(*existing);
        break;
    }
    if (step % 50 == 0) {
      REQUIRE(contents(zset) == model_contents(model));
      size_t rank = 0;
      for (const Element& e : model) {
        size_t found = 0;
        REQUIRE(zset.rank(e.second, &found));
        CHECK(found == rank);
        double s = 0;
        REQUIRE(zset.score(e.second, &s));
        CHECK(s == e.first);
        ZSetCursor c = zset.at(rank);
        REQUIRE(c.valid());
        CHECK(c.member() == e.second);
        rank++;
      }
      ScoreRange range{-2, 3, static_cast<bool>(rng() % 2), static_cast<bool>(rng() % 2)};
      size_t in_range = 0;
      for (const Element& e : model) in_range += score_gte_min(e.first, range) && score_lte_max(e.first, range);
      CHECK(zset.score_span(range).size() == in_range);
    }
  }
  CHECK(contents(zset) == model_contents(model));
}

TEST_CASE("zset: both encodings agree with a model under random operations") {
  random_against_model(limits_with(1000), 1);  // stays a listpack
  random_against_model(limits_with(0), 2);     // a skip list from the start
  random_against_model(limits_with(30), 3);    // converts midway
}

TEST_CASE("zset: ZADD flags") {
  ZSetValue zset;
  EncodingLimits limits;
  double score = 0;
  CHECK(zset.add("a", 5, kZAddNx, limits, &score) == ZAddResult::kAdded);
  CHECK(zset.add("a", 7, kZAddNx, limits, &score) == ZAddResult::kSkipped);
  CHECK(zset.add("b", 7, kZAddXx, limits, &score) == ZAddResult::kSkipped);
  CHECK(zset.add("a", 4, kZAddGt, limits, &score) == ZAddResult::kSkipped);
  CHECK(zset.add("a", 6, kZAddGt, limits, &score) == ZAddResult::kUpdated);
  CHECK(zset.add("a", 6, kZAddLt, limits, &score) == ZAddResult::kSkipped);
  CHECK(zset.add("a", 1, kZAddLt | kZAddIncr, limits, &score) == ZAddResult::kSkipped);
  CHECK(zset.add("a", -1, kZAddLt | kZAddIncr, limits, &score) == ZAddResult::kUpdated);
  CHECK(score == 5);
  CHECK(zset.add("a", 0, kZAddIncr, limits, &score) == ZAddResult::kUnchanged);
  CHECK(zset.add("i", kInf, 0, limits, &score) == ZAddResult::kAdded);
  CHECK(zset.add("i", -kInf, kZAddIncr, limits, &score) == ZAddResult::kNaN);
  double stored = 0;
  CHECK(zset.score("i", &stored));
  CHECK(stored == kInf);
  CHECK(zset.size() == 2);
}

TEST_CASE("zset: encoding transitions") {
  EncodingLimits limits = limits_with(3, 4);
  ZSetValue zset;
  CHECK(zset.encoding_name() == "listpack");
  zset.add("a", 1, limits);
  zset.add("b", 2, limits);
  zset.add("c", 3, limits);
  CHECK(zset.encoding_name() == "listpack");
  zset.add("d", 4, limits);
  CHECK(zset.encoding_name() == "skiplist");
  zset.remove("a");
  zset.remove("b");
  CHECK(zset.encoding_name() == "skiplist");  // one-way

  ZSetValue wide;
  wide.add("abcd", 1, limits);
  CHECK(wide.encoding_name() == "listpack");
  wide.add("abcde", 1, limits);
  CHECK(wide.encoding_name() == "skiplist");
  CHECK(contents(wide) == std::vector<Element>{{1, "abcd"}, {1, "abcde"}});

  ZSetValue none;
  none.add("a", 1, limits_with(0));
  CHECK(none.encoding_name() == "skiplist");

  std::vector<std::pair<std::string_view, double>> three = {{"a", 1}, {"b", 2}, {"c", 3}};
  CHECK(ZSetValue::from_sorted(three, limits)->encoding_name() == "listpack");
  CHECK(ZSetValue::from_sorted(three, limits_with(2))->encoding_name() == "skiplist");
  std::vector<std::pair<std::string_view, double>> wide_member = {{"abcde", 1}};
  CHECK(ZSetValue::from_sorted(wide_member, limits)->encoding_name() == "skiplist");
  auto copy = zset.clone();
  CHECK(copy->encoding_name() == "skiplist");
  CHECK(contents(*copy) == contents(zset));
}

TEST_CASE("zset: a listpack drops the sign of zero, a skip list keeps it") {
  ZSetValue small;
  small.add("z", -0.0, limits_with(128));
  double score = 1;
  REQUIRE(small.score("z", &score));
  CHECK_FALSE(std::signbit(score));
  ZSetValue large;
  large.add("z", -0.0, limits_with(0));
  REQUIRE(large.score("z", &score));
  CHECK(std::signbit(score));
}

TEST_CASE("zset: score spans") {
  for (size_t entries : {128u, 0u}) {
    ZSetValue zset;
    EncodingLimits limits = limits_with(entries);
    for (int i = 0; i < 10; i++) zset.add("m" + std::to_string(i), i / 2, limits);  // 0 0 1 1 ... 4 4
    zset.add("ninf", -kInf, limits);
    zset.add("pinf", kInf, limits);
    auto span = [&](double min, double max, bool minex, bool maxex) {
      RankSpan s = zset.score_span(ScoreRange{min, max, minex, maxex});
      return std::make_pair(s.begin, s.end);
    };
    CHECK(span(1, 2, false, false) == std::make_pair<size_t, size_t>(3, 7));
    CHECK(span(1, 2, true, false) == std::make_pair<size_t, size_t>(5, 7));
    CHECK(span(1, 2, false, true) == std::make_pair<size_t, size_t>(3, 5));
    CHECK(span(2, 1, false, false).second == span(2, 1, false, false).first);
    CHECK(zset.score_span(ScoreRange{3, 3, true, false}).empty());
    CHECK(zset.score_span(ScoreRange{-kInf, kInf, false, false}).size() == 12);
    CHECK(zset.score_span(ScoreRange{-kInf, kInf, true, true}).size() == 10);
    CHECK(zset.score_span(ScoreRange{kInf, kInf, false, false}).size() == 1);
  }
}

LexBound value_bound(std::string_view value, bool exclusive) {
  LexBound b;
  b.value = value;
  b.exclusive = exclusive;
  return b;
}

LexBound infinite_bound(LexBound::Kind kind) {
  LexBound b;
  b.kind = kind;
  b.exclusive = true;
  return b;
}

TEST_CASE("zset: lex ranges") {
  for (size_t entries : {128u, 0u}) {
    ZSetValue zset;
    EncodingLimits limits = limits_with(entries);
    for (const char* m : {"a", "b", "c", "d", "e"}) zset.add(m, 0, limits);
    LexRange range{value_bound("b", false), value_bound("d", true)};
    CHECK(zset.lex_first(range) == 1);
    CHECK(zset.lex_last(range) == 2);
    CHECK(zset.lex_count(range) == 2);
    CHECK(zset.lex_run(range).begin == 1);
    CHECK(zset.lex_run(range).end == 3);
    LexRange all{infinite_bound(LexBound::Kind::kMinusInfinity), infinite_bound(LexBound::Kind::kPlusInfinity)};
    CHECK(zset.lex_count(all) == 5);
    LexRange none{infinite_bound(LexBound::Kind::kPlusInfinity), infinite_bound(LexBound::Kind::kMinusInfinity)};
    CHECK(lex_range_is_empty(none));
    CHECK(zset.lex_first(none) == ZSetValue::kNoRank);
    CHECK(zset.lex_count(none) == 0);
    LexRange point{value_bound("c", false), value_bound("c", true)};
    CHECK(lex_range_is_empty(point));
    LexRange beyond{value_bound("f", false), infinite_bound(LexBound::Kind::kPlusInfinity)};
    CHECK(zset.lex_first(beyond) == ZSetValue::kNoRank);
    CHECK(zset.lex_last(beyond) == ZSetValue::kNoRank);
    CHECK(zset.erase_ranks(1, 3) == 2);
    CHECK(contents(zset) == std::vector<Element>{{0, "a"}, {0, "d"}, {0, "e"}});
  }
}

TEST_CASE("zset: listpack lex walk with unequal scores matches Redis's linear walk") {
  ZSetValue zset;
  EncodingLimits limits;
  zset.add("b", 1, limits);
  zset.add("a", 2, limits);
  zset.add("d", 3, limits);
  zset.add("c", 4, limits);
  LexRange range{value_bound("a", false), value_bound("c", false)};
  // Forward: the first member >= "a" is "b" (rank 0); the run stops at "d" (> "c").
  CHECK(zset.lex_first(range) == 0);
  CHECK(zset.lex_count(range) == 2);
  CHECK(zset.lex_run(range).end == 2);
  // Backward: the last member <= "c" is "c" (rank 3).
  CHECK(zset.lex_last(range) == 3);
}

TEST_CASE("zset: a size hint picks the starting encoding") {
  EncodingLimits limits = limits_with(2);
  CHECK(ZSetValue::with_size_hint(2, limits)->encoding_name() == "listpack");
  CHECK(ZSetValue::with_size_hint(3, limits)->encoding_name() == "skiplist");
  auto filled = ZSetValue::with_size_hint(0, limits);
  filled->add("a", -0.0, limits);
  filled->add("b", -0.0, limits);
  filled->add("c", -0.0, limits);  // converts: a and b went through the listpack
  CHECK(filled->encoding_name() == "skiplist");
  double a = 1, c = 1;
  REQUIRE(filled->score("a", &a));
  REQUIRE(filled->score("c", &c));
  CHECK_FALSE(std::signbit(a));
  CHECK(std::signbit(c));
}

TEST_CASE("zset: cursors walk both ways and scan visits everything") {
  for (size_t entries : {128u, 0u}) {
    ZSetValue zset;
    EncodingLimits limits = limits_with(entries);
    for (int i = 0; i < 20; i++) zset.add("m" + std::to_string(i), i, limits);
    std::vector<std::string> backward;
    for (ZSetCursor c = zset.at(19); c.valid(); c.prev()) backward.emplace_back(c.member());
    CHECK(backward.size() == 20);
    CHECK(backward.front() == "m19");
    CHECK(backward.back() == "m0");
    CHECK_FALSE(zset.at(20).valid());
    std::set<std::string> seen;
    uint64_t cursor = 0;
    do {
      cursor = zset.scan(cursor, [&](std::string_view member, double) { seen.emplace(member); });
    } while (cursor != 0);
    CHECK(seen.size() == 20);
    std::mt19937_64 rng(9);
    for (int i = 0; i < 50; i++) CHECK(zset.random_element([&] { return rng(); }).valid());
  }
}

}  // namespace
}  // namespace rd
