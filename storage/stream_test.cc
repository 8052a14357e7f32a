#include "storage/stream.h"

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace rd {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;
using Model = std::map<StreamId, Fields>;

void add(StreamValue& s, StreamId id, const Fields& fields, const StreamNodeLimits& limits = {}) {
  std::vector<std::string_view> fv;
  for (const auto& [f, v] : fields) {
    fv.emplace_back(f);
    fv.emplace_back(v);
  }
  s.append(id, fv.data(), fields.size(), limits);
}

Model contents(const StreamValue& s, StreamId start = {}, StreamId end = StreamId::max(), bool reverse = false) {
  Model out;
  StreamValue::Iterator it(s, start, end, reverse);
  StreamId previous;
  bool first = true;
  while (it.next()) {
    if (!first) CHECK((reverse ? it.id() < previous : it.id() > previous));
    first = false;
    previous = it.id();
    Fields fields;
    for (const StreamField& f : it.fields()) fields.emplace_back(std::string(f.field), std::string(f.value));
    out[it.id()] = fields;
  }
  return out;
}

Model model_range(const Model& m, StreamId start, StreamId end) {
  Model out;
  for (auto it = m.lower_bound(start); it != m.end() && it->first <= end; ++it) out.insert(*it);
  return out;
}

// Every node's listpack as written for the RDB has exactly the size used to split nodes, and
// loading the nodes back gives the same entries and the same sizes.
void check_nodes_round_trip(const StreamValue& s) {
  StreamValue copy;
  size_t index = 0;
  s.for_each_node([&](const std::string& key, const std::string& listpack) {
    CHECK(key.size() == 16);
    CHECK(listpack.size() == s.node_listpack_bytes_for_test(index));
    CHECK(copy.load_node(key, listpack) == "");
    CHECK(copy.node_listpack_bytes_for_test(index) == listpack.size());
    index++;
  });
  CHECK(copy.length() == s.length());
  CHECK(copy.node_count() == s.node_count());
  CHECK(contents(copy) == contents(s));
}

TEST_CASE("stream IDs: parsing like Redis") {
  StreamId id;
  bool seq_given = false;
  CHECK(parse_stream_id("1-2", 0, true, nullptr, &id));
  CHECK(id == StreamId{1, 2});
  CHECK(parse_stream_id("5", 7, true, nullptr, &id));
  CHECK(id == StreamId{5, 7});
  CHECK(parse_stream_id("-", 0, false, nullptr, &id));
  CHECK(id == StreamId{});
  CHECK(parse_stream_id("+", 0, false, nullptr, &id));
  CHECK(id == StreamId::max());
  CHECK_FALSE(parse_stream_id("-", 0, true, nullptr, &id));
  CHECK_FALSE(parse_stream_id("+", 0, true, nullptr, &id));
  CHECK(parse_stream_id("3-*", 0, true, &seq_given, &id));
  CHECK_FALSE(seq_given);
  CHECK(id == StreamId{3, 0});
  CHECK_FALSE(parse_stream_id("3-*", 0, true, nullptr, &id));
  CHECK(parse_stream_id("3-4", 0, true, &seq_given, &id));
  CHECK(seq_given);
  CHECK_FALSE(parse_stream_id("", 0, true, nullptr, &id));
  CHECK_FALSE(parse_stream_id("1-", 0, true, nullptr, &id));
  CHECK_FALSE(parse_stream_id("1-2-3", 0, true, nullptr, &id));
  CHECK_FALSE(parse_stream_id("x", 0, true, nullptr, &id));
  CHECK_FALSE(parse_stream_id("18446744073709551616", 0, true, nullptr, &id));
  CHECK(parse_stream_id("18446744073709551615-18446744073709551615", 0, true, nullptr, &id));
  CHECK(id == StreamId::max());
  // string2ull's lenient path: leading '+', zeros, a wrapping "-0N".
  CHECK(parse_stream_id("+5-01", 0, true, nullptr, &id));
  CHECK(id == StreamId{5, 1});
  CHECK(parse_stream_id("5--01", 0, true, nullptr, &id));
  CHECK(id == StreamId{5, UINT64_MAX});
  // Cut at the first NUL byte; over 127 bytes is invalid.
  CHECK(parse_stream_id(std::string_view("7-1\0junk", 8), 0, true, nullptr, &id));
  CHECK(id == StreamId{7, 1});
  CHECK_FALSE(parse_stream_id(std::string(128, '1'), 0, true, nullptr, &id));
}

TEST_CASE("stream IDs: increment, decrement, text") {
  StreamId id{1, UINT64_MAX};
  CHECK(id.increment());
  CHECK(id == StreamId{2, 0});
  CHECK(id.decrement());
  CHECK(id == StreamId{1, UINT64_MAX});
  StreamId top = StreamId::max();
  CHECK_FALSE(top.increment());
  CHECK(top == StreamId{});
  StreamId zero;
  CHECK_FALSE(zero.decrement());
  CHECK(zero == StreamId::max());
  CHECK(StreamId{12, 34}.str() == "12-34");
  CHECK(StreamId::max().str() == "18446744073709551615-18446744073709551615");
}

TEST_CASE("stream: append, ranges both ways, metadata") {
  StreamValue s;
  CHECK(s.length() == 0);
  CHECK(s.rax_node_count() == 1);
  CHECK(s.edge_id(true, true) == StreamId::max());
  CHECK(s.edge_id(false, true) == StreamId{});
  StreamId next;
  CHECK(s.next_id(100, &next));
  CHECK(next == StreamId{100, 0});
  Model model;
  for (uint64_t i = 1; i <= 350; i++) {
    Fields fields = {{"f", std::to_string(i)}};
    if (i % 7 == 0) fields.push_back({"extra", std::string(i % 50, 'x')});
    const StreamId id{i / 3, i % 3};
    add(s, id, fields);
    model[id] = fields;
  }
  CHECK(s.length() == 350);
  CHECK(s.entries_added() == 350);
  CHECK(s.first_id() == StreamId{0, 1});
  CHECK(s.last_id() == StreamId{116, 2});
  CHECK(s.node_count() == 4);  // 100 entries per node by default
  CHECK(s.next_id(50, &next));
  CHECK(next == StreamId{116, 3});
  CHECK(contents(s) == model);
  const std::vector<std::pair<StreamId, StreamId>> ranges = {
      {{0, 0}, StreamId::max()}, {{10, 1}, {20, 0}}, {{33, 2}, {34, 0}}, {{50, 0}, {40, 0}}, {{200, 0}, {300, 0}}};
  for (auto [a, b] : ranges) {
    CHECK(contents(s, a, b) == model_range(model, a, b));
    CHECK(contents(s, a, b, true) == model_range(model, a, b));
  }
  check_nodes_round_trip(s);
}

TEST_CASE("stream: deletions, tombstones, node removal and trimming against a model") {
  std::mt19937_64 rng(7);
  StreamNodeLimits limits;
  limits.max_entries = 5;
  StreamValue s;
  Model model;
  uint64_t ms = 1;
  for (int round = 0; round < 3000; round++) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 6) {
      const StreamId id{ms, rng() % 3};
      if (id > s.last_id()) {
        Fields fields = {{"k", std::to_string(rng() % 1000)}};
        if (rng() % 4 == 0) fields = {{"other", "v"}, {"k", "w"}};
        add(s, id, fields, limits);
        model[id] = fields;
      }
      ms += rng() % 3;
    } else if (op < 8 && !model.empty()) {
      auto it = model.begin();
      std::advance(it, static_cast<long>(rng() % model.size()));
      CHECK(s.contains(it->first));
      CHECK(s.erase(it->first));
      CHECK_FALSE(s.erase(it->first));
      CHECK_FALSE(s.contains(it->first));
      model.erase(it);
    } else if (op == 8) {
      StreamTrimArgs trim;
      trim.strategy = StreamTrimArgs::Strategy::kMaxLen;
      trim.maxlen = static_cast<int64_t>(model.size()) - static_cast<int64_t>(rng() % 4);
      if (trim.maxlen < 0) trim.maxlen = 0;
      const int64_t expected = static_cast<int64_t>(model.size()) - trim.maxlen;
      CHECK(s.trim(trim) == expected);
      while (static_cast<int64_t>(model.size()) > trim.maxlen) model.erase(model.begin());
    } else {
      StreamTrimArgs trim;
      trim.strategy = StreamTrimArgs::Strategy::kMinId;
      trim.minid = StreamId{ms > 20 ? ms - 20 : 0, 0};
      int64_t expected = 0;
      while (!model.empty() && model.begin()->first < trim.minid) {
        model.erase(model.begin());
        expected++;
      }
      CHECK(s.trim(trim) == expected);
    }
    REQUIRE(s.length() == model.size());
    if (round % 100 == 0) {
      CHECK(contents(s) == model);
      CHECK(contents(s, {}, StreamId::max(), true) == model);
      check_nodes_round_trip(s);
    }
  }
  CHECK(contents(s) == model);
}

TEST_CASE("stream: approximate trimming removes whole nodes only, within LIMIT") {
  StreamNodeLimits limits;
  limits.max_entries = 3;
  StreamValue s;
  for (uint64_t i = 1; i <= 10; i++) add(s, {i, 0}, {{"f", "v"}}, limits);
  CHECK(s.node_count() == 4);
  StreamTrimArgs trim;
  trim.strategy = StreamTrimArgs::Strategy::kMaxLen;
  trim.approx = true;
  trim.maxlen = 5;
  CHECK(s.trim(trim) == 3);  // the second node would leave 4 < 5
  CHECK(s.length() == 7);
  CHECK(s.first_id() == StreamId{4, 0});
  trim.maxlen = 0;
  trim.limit = 2;
  CHECK(s.trim(trim) == 0);  // a node of 3 exceeds the limit
  trim.limit = 6;
  CHECK(s.trim(trim) == 6);
  CHECK(s.length() == 1);
  trim.approx = false;
  trim.limit = 0;
  CHECK(s.trim(trim) == 1);
  CHECK(s.length() == 0);
  CHECK(s.first_id() == StreamId{});
  CHECK(s.node_count() == 0);
}

TEST_CASE("stream: node byte limit counts listpack bytes like Redis") {
  StreamNodeLimits limits;
  limits.max_entries = 0;
  limits.max_bytes = 60;
  StreamValue s;
  add(s, {1, 0}, {{"f", "aaaaaaaaaa"}}, limits);
  add(s, {2, 0}, {{"f", "bbbbbbbbbb"}}, limits);
  add(s, {3, 0}, {{"f", "cccccccccc"}}, limits);
  // 7 bytes of header and end, the master entry (count, deleted, 1, "f", 0) 11 bytes, each
  // entry (flags, ms delta, seq delta, value, lp-count) 20: 38, then 58; 58 + 11 >= 60
  // starts a new node.
  CHECK(s.node_listpack_bytes_for_test(0) == 58);
  CHECK(s.node_count() == 2);
  check_nodes_round_trip(s);
}

TEST_CASE("stream: radix tree node count of the node keys") {
  StreamNodeLimits limits;
  limits.max_entries = 1;
  StreamValue s;
  add(s, {1, 0}, {{"f", "v"}}, limits);
  CHECK(s.rax_node_count() == 2);  // the key compressed in one node, then the leaf
  add(s, {2, 0}, {{"f", "v"}}, limits);
  CHECK(s.rax_node_count() == 6);  // 7 shared bytes, a branch, two (8 bytes + leaf) tails
  add(s, {3, 0}, {{"f", "v"}}, limits);
  CHECK(s.rax_node_count() == 8);
  add(s, {256, 0}, {{"f", "v"}}, limits);
  CHECK(s.rax_node_count() == 11);  // 6 shared bytes, branch, {branch + 3 tails}, 1 tail
  s.erase({1, 0});
  s.erase({2, 0});
  s.erase({3, 0});
  CHECK(s.rax_node_count() == 2);
}

TEST_CASE("stream: consumer groups, PELs, clone") {
  StreamValue s;
  for (uint64_t i = 1; i <= 5; i++) add(s, {i, 0}, {{"f", "v"}});
  StreamGroup* g = s.add_group("g", {}, kStreamEntriesReadInvalid);
  REQUIRE(g != nullptr);
  CHECK(s.add_group("g", {}, 0) == nullptr);
  StreamConsumer* alice = g->add_consumer("alice", 10);
  StreamConsumer* bob = g->add_consumer("bob", 20);
  CHECK(g->add_consumer("alice", 30) == nullptr);
  for (uint64_t i = 1; i <= 3; i++) {
    s.group_delivered(*g, {i, 0});
    StreamPending& p = g->assign_pending({i, 0}, alice);
    p.delivery_count = 1;
  }
  CHECK(g->last_id == StreamId{3, 0});
  CHECK(g->entries_read == 3);
  int64_t lag = -1;
  CHECK(s.group_lag(*g, &lag));
  CHECK(lag == 2);
  g->assign_pending({2, 0}, bob);
  CHECK(alice->pel.size() == 2);
  CHECK(bob->pel.size() == 1);
  CHECK(g->pel.at({2, 0}).consumer == bob);

  auto copy = s.clone();
  StreamGroup* cg = copy->find_group("g");
  REQUIRE(cg != nullptr);
  CHECK(cg->pel.size() == 3);
  CHECK(cg->find_consumer("bob")->pel.begin()->second == &cg->pel.at({2, 0}));

  CHECK(g->remove_pending({2, 0}));
  CHECK_FALSE(g->remove_pending({2, 0}));
  CHECK(bob->pel.empty());
  CHECK(g->delete_consumer("alice") == 2);
  CHECK(g->pel.empty());
  CHECK(cg->pel.size() == 3);  // the copy is independent

  // A tombstone after the group's position makes its counter unknown until re-estimated.
  s.erase({4, 0});
  s.set_max_deleted_id({4, 0});
  CHECK_FALSE(s.group_lag(*g, &lag));
  CHECK(s.delete_group("g"));
  CHECK_FALSE(s.delete_group("g"));
}

TEST_CASE("stream: entries-read estimates (Redis 7.0 rules)") {
  StreamValue s;
  CHECK(s.estimate_distance_from_first_ever_entry({5, 0}) == 0);
  for (uint64_t i = 1; i <= 4; i++) add(s, {i, 0}, {{"f", "v"}});
  CHECK(s.estimate_distance_from_first_ever_entry({4, 0}) == 4);
  CHECK(s.estimate_distance_from_first_ever_entry({9, 0}) == kStreamEntriesReadInvalid);
  CHECK(s.estimate_distance_from_first_ever_entry({1, 0}) == 1);
  CHECK(s.estimate_distance_from_first_ever_entry({0, 5}) == 0);
  CHECK(s.estimate_distance_from_first_ever_entry({2, 0}) == kStreamEntriesReadInvalid);
}

TEST_CASE("stream: load_node rejects damaged nodes") {
  StreamValue s;
  add(s, {1, 0}, {{"f", "v"}});
  std::string key, listpack;
  s.for_each_node([&](const std::string& k, const std::string& lp) {
    key = k;
    listpack = lp;
  });
  StreamValue target;
  CHECK(target.load_node(key.substr(1), listpack) != "");
  CHECK(target.load_node(key, listpack.substr(0, listpack.size() - 1)) != "");
  std::string bad = listpack;
  bad[6] = 5;  // the live count no longer matches the entries
  CHECK(target.load_node(key, bad) != "");
  CHECK(target.load_node(key, listpack) == "");
  CHECK(target.load_node(key, listpack) != "");  // keys must increase
}

}  // namespace
}  // namespace rd
