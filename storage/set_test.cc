#include "storage/set.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace rd {
namespace {

std::vector<std::string> in_order(const SetValue& set) {
  std::vector<std::string> out;
  set.for_each([&](std::string_view m) { out.emplace_back(m); });
  return out;
}

std::set<std::string> members(const SetValue& set) {
  std::set<std::string> out;
  set.for_each([&](std::string_view m) { out.emplace(m); });
  return out;
}

SetValue make_set(bool table, int count, const std::string& prefix = "") {
  SetValue set;
  EncodingLimits limits;
  limits.set_max_intset_entries = 100000;
  for (int i = 0; i < count; i++) set.add(prefix + std::to_string(i), limits);
  if (table) set.convert_to_table();
  return set;
}

TEST_CASE("set: intset keeps integers sorted") {
  SetValue set;
  EncodingLimits limits;
  CHECK(set.empty());
  CHECK(set.encoding_name() == "intset");
  CHECK(set.add("3", limits));
  CHECK(set.add("-10", limits));
  CHECK(set.add("9223372036854775807", limits));
  CHECK(set.add("-9223372036854775808", limits));
  CHECK(set.add("0", limits));
  CHECK_FALSE(set.add("3", limits));
  CHECK(set.encoding_name() == "intset");
  CHECK(in_order(set) ==
        std::vector<std::string>{"-9223372036854775808", "-10", "0", "3", "9223372036854775807"});
  CHECK(set.contains("-10"));
  CHECK_FALSE(set.contains("-010"));
  CHECK_FALSE(set.contains("abc"));
  CHECK_FALSE(set.remove("+3"));
  CHECK(set.remove("3"));
  CHECK_FALSE(set.remove("3"));
  CHECK(set.size() == 4);
}

TEST_CASE("set: intset widens from 16 to 32 to 64 bits keeping order") {
  SetValue set;
  EncodingLimits limits;
  std::set<int64_t> expected;
  std::mt19937_64 random(9);
  // Values of every width, in random order, plus the edges of each width.
  std::vector<int64_t> values = {0, -1, 32767, -32768, 32768, -32769, 2147483647, -2147483648LL, 2147483648LL,
                                 -2147483649LL, INT64_MAX, INT64_MIN};
  for (int i = 0; i < 300; i++) values.push_back(static_cast<int64_t>(random()) >> (random() % 64));
  std::shuffle(values.begin(), values.end(), random);
  for (int64_t v : values) {
    CHECK(set.add(std::to_string(v), limits) == expected.insert(v).second);
    if (expected.size() == 5) CHECK(set.encoding_name() == "intset");
  }
  CHECK(set.encoding_name() == "intset");
  std::vector<std::string> want;
  for (int64_t v : expected) want.push_back(std::to_string(v));
  CHECK(in_order(set) == want);
  for (int64_t v : expected) CHECK(set.contains(std::to_string(v)));
  CHECK_FALSE(set.contains("12345678901"));
  // Removing the wide values keeps the rest readable (the width never shrinks).
  for (int64_t v : {INT64_MAX, INT64_MIN, int64_t{2147483648LL}}) {
    CHECK(set.remove(std::to_string(v)));
    expected.erase(v);
  }
  want.clear();
  for (int64_t v : expected) want.push_back(std::to_string(v));
  CHECK(in_order(set) == want);
  while (!set.empty()) {
    std::mt19937_64 pick(1);
    set.pop_random(pick);
  }
  CHECK(set.add("1", limits));
  CHECK(in_order(set) == std::vector<std::string>{"1"});
}

TEST_CASE("set: only canonical int64 text stays in an intset") {
  for (const char* member : {"01", "-0", "+1", " 1", "1 ", "1.0", "1e3", "", "0x10", "9223372036854775808",
                             "-9223372036854775809", "abc"}) {
    CAPTURE(member);
    SetValue set;
    EncodingLimits limits;
    set.add("5", limits);
    CHECK(set.encoding_name() == "intset");
    CHECK(set.add(member, limits));
    CHECK(set.encoding_name() == "hashtable");
    CHECK(set.contains(member));
    CHECK(set.contains("5"));
    CHECK(set.remove(member));
    CHECK(set.encoding_name() == "hashtable");  // one-way
  }
}

TEST_CASE("set: intset converts past set-max-intset-entries") {
  EncodingLimits limits;
  limits.set_max_intset_entries = 3;
  SetValue set;
  for (const char* m : {"1", "2", "3"}) set.add(m, limits);
  CHECK(set.encoding_name() == "intset");
  CHECK_FALSE(set.add("2", limits));  // not added: no conversion
  CHECK(set.encoding_name() == "intset");
  CHECK(set.add("4", limits));
  CHECK(set.encoding_name() == "hashtable");
  CHECK(members(set) == std::set<std::string>{"1", "2", "3", "4"});

  limits.set_max_intset_entries = 0;
  SetValue none;
  none.add("1", limits);
  CHECK(none.encoding_name() == "hashtable");
}

TEST_CASE("set: both encodings behave alike") {
  for (bool table : {false, true}) {
    CAPTURE(table);
    SetValue set = make_set(table, 40);
    EncodingLimits limits;
    CHECK(set.encoding_name() == (table ? "hashtable" : "intset"));
    CHECK(set.size() == 40);
    CHECK(set.contains("39"));
    CHECK_FALSE(set.contains("40"));
    CHECK(set.remove("39"));
    CHECK_FALSE(set.add("0", limits));
    CHECK(set.size() == 39);

    std::unique_ptr<SetValue> copy = set.clone();
    CHECK(copy->encoding_name() == set.encoding_name());
    CHECK(members(*copy) == members(set));
    copy->add("x", limits);
    CHECK_FALSE(set.contains("x"));  // deep copy

    size_t seen = 0;
    set.visit_while([&](std::string_view) { return ++seen < 5; });
    CHECK(seen == 5);
  }
}

TEST_CASE("set: scan of an intset returns everything with cursor 0") {
  SetValue set = make_set(false, 10);
  std::vector<std::string> seen;
  CHECK(set.scan(999, [&](std::string_view m) { seen.emplace_back(m); }) == 0);
  CHECK(seen == in_order(set));
}

TEST_CASE("set: table scan covers every member present throughout, across growth and shrink") {
  SetValue set = make_set(true, 300, "m");
  EncodingLimits limits;
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int step = 0;
  do {
    cursor = set.scan(cursor, [&](std::string_view m) { seen.emplace(m); });
    if (step == 2) {
      for (int i = 0; i < 5000; i++) set.add("new" + std::to_string(i), limits);
    }
    if (step == 50) {
      for (int i = 0; i < 5000; i++) set.remove("new" + std::to_string(i));
    }
    step++;
  } while (cursor != 0);
  for (int i = 0; i < 300; i++) CHECK(seen.count("m" + std::to_string(i)) == 1);
}

TEST_CASE("set: random sampling and popping") {
  std::mt19937_64 random(3);
  for (bool table : {false, true}) {
    CAPTURE(table);
    SetValue set = make_set(table, 25);
    const std::set<std::string> all = members(set);

    IntText text;
    std::set<std::string> picked;
    for (int i = 0; i < 3000; i++) {
      std::string member(set.random_member(random, text));
      CHECK(all.count(member) == 1);
      picked.insert(member);
    }
    CHECK(picked.size() == 25);

    size_t visits = 0;
    set.sample_with_repetition(300, random, [&](std::string_view m) {
      CHECK(all.count(std::string(m)) == 1);
      visits++;
    });
    CHECK(visits == 300);

    for (size_t count : {1, 2, 8, 9, 24}) {
      std::set<std::string> distinct;
      set.sample_distinct(count, random, [&](std::string_view m) {
        CHECK(all.count(std::string(m)) == 1);
        distinct.emplace(m);
      });
      CHECK(distinct.size() == count);
    }

    std::set<std::string> popped;
    while (!set.empty()) popped.insert(set.pop_random(random));
    CHECK(popped == all);
  }
}

TEST_CASE("set: distinct sampling of a small share of a big table") {
  std::mt19937_64 random(5);
  SetValue set = make_set(true, 5000, "m");
  std::set<std::string> distinct;
  set.sample_distinct(50, random, [&](std::string_view m) { distinct.emplace(m); });
  CHECK(distinct.size() == 50);
}

}  // namespace
}  // namespace rd
