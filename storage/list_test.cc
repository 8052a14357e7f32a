// Unit tests for rd::ListValue: targeted cases for each operation, then a randomized run
// against std::deque<std::string> as the model (chunk boundaries, large elements, growth and
// sliding of chunk buffers are where packed representations go wrong).
#include "storage/list.h"

#include <doctest/doctest.h>

#include <deque>
#include <random>
#include <string>
#include <vector>

using rd::ListValue;

namespace {

std::vector<std::string> contents(const ListValue& list) {
  std::vector<std::string> out;
  list.for_each([&](std::string_view v) { out.emplace_back(v); });
  return out;
}

std::vector<std::string> backwards(const ListValue& list) {
  std::vector<std::string> out;
  if (list.empty()) return out;
  for (ListValue::Cursor c = list.cursor_at_tail(); c.valid(); c.prev()) out.emplace_back(c.value());
  return out;
}

void check_same(const ListValue& list, const std::deque<std::string>& model) {
  REQUIRE(list.check_invariants());
  REQUIRE(list.size() == model.size());
  std::vector<std::string> expected(model.begin(), model.end());
  REQUIRE(contents(list) == expected);
  std::vector<std::string> reversed(model.rbegin(), model.rend());
  REQUIRE(backwards(list) == reversed);
}

}  // namespace

TEST_CASE("list: empty list") {
  ListValue list;
  CHECK(list.size() == 0);
  CHECK(list.empty());
  CHECK(list.encoding_name() == "quicklist");
  CHECK(contents(list).empty());
  CHECK_FALSE(list.cursor_at_head().valid());
  CHECK(list.check_invariants());
}

TEST_CASE("list: pushes and pops at both ends") {
  ListValue list;
  list.push_back("b");
  list.push_front("a");
  list.push_back("c");
  CHECK(contents(list) == std::vector<std::string>{"a", "b", "c"});
  CHECK(list.front() == "a");
  CHECK(list.back() == "c");
  list.pop_front();
  CHECK(list.front() == "b");
  list.pop_back();
  CHECK(list.back() == "b");
  list.pop_back();
  CHECK(list.empty());
  CHECK(list.chunk_count() == 0);
}

TEST_CASE("list: empty strings and binary bytes") {
  ListValue list;
  list.push_back("");
  list.push_back(std::string_view("\0\r\n\xff", 4));
  list.push_front("");
  CHECK(list.size() == 3);
  CHECK(list.at(0).empty());
  CHECK(list.at(1).empty());
  CHECK(list.at(2) == std::string_view("\0\r\n\xff", 4));
  CHECK(list.remove("", 0, false) == 2);
  CHECK(list.size() == 1);
  CHECK(list.check_invariants());
}

TEST_CASE("list: lengths that need multi-byte length prefixes") {
  for (size_t length : {127u, 128u, 129u, 16383u, 16384u, 20000u, 70000u}) {
    ListValue list;
    std::string big(length, 'x');
    big.front() = 'a';
    big.back() = 'z';
    list.push_back("small");
    list.push_back(big);
    list.push_front(big);
    list.push_back("tail");
    CHECK(list.at(1) == "small");
    CHECK(list.at(0) == big);
    CHECK(list.at(2) == big);
    CHECK(list.back() == "tail");
    CHECK(backwards(list) == std::vector<std::string>{"tail", big, "small", big});
    CHECK(list.check_invariants());
  }
}

TEST_CASE("list: many elements span several chunks") {
  ListValue list;
  std::deque<std::string> model;
  for (int i = 0; i < 20000; i++) {
    list.push_back(std::to_string(i));
    model.push_back(std::to_string(i));
  }
  CHECK(list.chunk_count() > 1);
  check_same(list, model);
  for (size_t i : {0u, 1u, 999u, 10000u, 19998u, 19999u}) CHECK(list.at(i) == model[i]);
  list.erase_front(5000);
  model.erase(model.begin(), model.begin() + 5000);
  list.erase_back(7000);
  model.erase(model.end() - 7000, model.end());
  check_same(list, model);
  list.erase_front(100000);
  CHECK(list.empty());
  CHECK(list.chunk_count() == 0);
}

TEST_CASE("list: LPUSH-style growth keeps pushes at the head cheap and ordered") {
  ListValue list;
  std::deque<std::string> model;
  for (int i = 0; i < 5000; i++) {
    list.push_front("v" + std::to_string(i));
    model.push_front("v" + std::to_string(i));
  }
  check_same(list, model);
}

TEST_CASE("list: queue use slides chunk contents instead of growing") {
  ListValue list;
  std::deque<std::string> model;
  for (int i = 0; i < 100; i++) {
    list.push_back("x" + std::to_string(i));
    model.push_back("x" + std::to_string(i));
  }
  for (int i = 0; i < 100000; i++) {
    list.push_back("y" + std::to_string(i));
    model.push_back("y" + std::to_string(i));
    list.pop_front();
    model.pop_front();
  }
  check_same(list, model);
  CHECK(list.chunk_count() == 1);
  CHECK(list.allocated_bytes() < 4096);
}

TEST_CASE("list: set with shorter, equal and longer values") {
  ListValue list;
  for (const char* v : {"a", "bb", "ccc", "dddd"}) list.push_back(v);
  list.set(1, "BB");
  list.set(0, "");
  list.set(3, std::string(300, 'z'));
  list.set(2, "c");
  CHECK(contents(list) == std::vector<std::string>{"", "BB", "c", std::string(300, 'z')});
  CHECK(list.check_invariants());
}

TEST_CASE("list: insert in the middle, at the head and at the tail") {
  ListValue list;
  list.push_back("a");
  list.push_back("c");
  list.insert(1, "b");
  list.insert(0, "start");
  list.insert(list.size(), "end");
  CHECK(contents(list) == std::vector<std::string>{"start", "a", "b", "c", "end"});
}

TEST_CASE("list: repeated inserts in the middle split oversized chunks") {
  ListValue list;
  std::deque<std::string> model;
  for (int i = 0; i < 10; i++) {
    list.push_back("edge");
    model.push_back("edge");
  }
  for (int i = 0; i < 10000; i++) {
    size_t at = model.size() / 2;
    list.insert(at, "mid" + std::to_string(i));
    model.insert(model.begin() + static_cast<std::ptrdiff_t>(at), "mid" + std::to_string(i));
  }
  check_same(list, model);
  CHECK(list.chunk_count() > 2);
}

TEST_CASE("list: remove from the head, from the tail, with limits") {
  auto make = [] {
    ListValue list;
    for (const char* v : {"x", "a", "x", "b", "x", "c", "x"}) list.push_back(v);
    return list;
  };
  ListValue all = make();
  CHECK(all.remove("x", 0, false) == 4);
  CHECK(contents(all) == std::vector<std::string>{"a", "b", "c"});

  ListValue head = make();
  CHECK(head.remove("x", 2, false) == 2);
  CHECK(contents(head) == std::vector<std::string>{"a", "b", "x", "c", "x"});

  ListValue tail = make();
  CHECK(tail.remove("x", 2, true) == 2);
  CHECK(contents(tail) == std::vector<std::string>{"x", "a", "x", "b", "c"});
  CHECK(tail.check_invariants());

  ListValue none = make();
  CHECK(none.remove("zzz", 0, true) == 0);
  CHECK(none.size() == 7);

  ListValue everything;
  for (int i = 0; i < 5000; i++) everything.push_back("same");
  CHECK(everything.remove("same", 0, true) == 5000);
  CHECK(everything.empty());
  CHECK(everything.chunk_count() == 0);
}

TEST_CASE("list: cursors walk both ways from any index") {
  ListValue list;
  for (int i = 0; i < 3000; i++) list.push_back(std::to_string(i));
  ListValue::Cursor c = list.cursor_at(1500);
  CHECK(c.value() == "1500");
  c.next();
  CHECK(c.value() == "1501");
  c.prev();
  c.prev();
  CHECK(c.value() == "1499");
  ListValue::Cursor head = list.cursor_at(0);
  head.prev();
  CHECK_FALSE(head.valid());
  ListValue::Cursor tail = list.cursor_at(2999);
  tail.next();
  CHECK_FALSE(tail.valid());
}

TEST_CASE("list: clone is deep and compact") {
  ListValue list;
  for (int i = 0; i < 1000; i++) list.push_front(std::to_string(i));
  std::unique_ptr<ListValue> copy = list.clone();
  list.set(0, "changed");
  CHECK(copy->at(0) == "999");
  CHECK(copy->size() == 1000);
  CHECK(copy->check_invariants());
  CHECK(copy->allocated_bytes() <= list.allocated_bytes());
}

TEST_CASE("list: randomized operations match a deque model") {
  std::mt19937 rng(12345);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  auto random_value = [&] {
    size_t r = pick(100);
    size_t length = r < 70 ? pick(12) : r < 95 ? pick(300) : pick(20000);
    std::string v(length, 'a');
    for (char& ch : v) ch = static_cast<char>('a' + pick(3));
    return v;
  };
  for (int round = 0; round < 20; round++) {
    ListValue list;
    std::deque<std::string> model;
    for (int step = 0; step < 3000; step++) {
      size_t op = pick(11);
      if (op <= 1) {
        std::string v = random_value();
        list.push_back(v);
        model.push_back(v);
      } else if (op <= 3) {
        std::string v = random_value();
        list.push_front(v);
        model.push_front(v);
      } else if (op == 4 && !model.empty()) {
        size_t n = pick(4);
        list.erase_front(n);
        model.erase(model.begin(), model.begin() + static_cast<std::ptrdiff_t>(std::min(n, model.size())));
      } else if (op == 5 && !model.empty()) {
        size_t n = pick(4);
        list.erase_back(n);
        model.erase(model.end() - static_cast<std::ptrdiff_t>(std::min(n, model.size())), model.end());
      } else if (op == 6 && !model.empty()) {
        size_t i = pick(model.size());
        std::string v = random_value();
        list.set(i, v);
        model[i] = v;
      } else if (op == 7) {
        size_t i = pick(model.size() + 1);
        std::string v = random_value();
        list.insert(i, v);
        model.insert(model.begin() + static_cast<std::ptrdiff_t>(i), v);
      } else if (op == 8 && !model.empty()) {
        std::string v(pick(3), static_cast<char>('a' + pick(3)));
        size_t limit = pick(3);
        bool from_tail = pick(2) == 1;
        size_t removed = 0;
        if (!from_tail) {
          for (auto it = model.begin(); it != model.end() && (limit == 0 || removed < limit);) {
            if (*it == v) {
              it = model.erase(it);
              removed++;
            } else {
              ++it;
            }
          }
        } else {
          for (size_t i = model.size(); i-- > 0 && (limit == 0 || removed < limit);) {
            if (model[i] == v) {
              model.erase(model.begin() + static_cast<std::ptrdiff_t>(i));
              removed++;
            }
          }
        }
        REQUIRE(list.remove(v, limit, from_tail) == removed);
      } else if (op == 9 && !model.empty()) {
        size_t i = pick(model.size());
        REQUIRE(list.at(i) == model[i]);
      } else if (op == 10 && !model.empty()) {
        REQUIRE(list.front() == model.front());
        REQUIRE(list.back() == model.back());
      }
      REQUIRE(list.size() == model.size());
      if (step % 100 == 0) check_same(list, model);
    }
    check_same(list, model);
  }
}
