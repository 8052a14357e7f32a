#include "storage/hash.h"

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace rd {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs in_order(const HashValue& hash) {
  Pairs out;
  hash.for_each([&](std::string_view f, std::string_view v) { out.emplace_back(f, v); });
  return out;
}

std::map<std::string, std::string> as_map(const HashValue& hash) {
  std::map<std::string, std::string> out;
  hash.for_each([&](std::string_view f, std::string_view v) { out.emplace(f, v); });
  return out;
}

std::map<std::string, std::string> scan_all(const HashValue& hash, uint64_t* calls = nullptr) {
  std::map<std::string, std::string> seen;
  uint64_t cursor = 0;
  do {
    cursor = hash.scan(cursor, [&](std::string_view f, std::string_view v) { seen.emplace(f, v); });
    if (calls != nullptr) (*calls)++;
  } while (cursor != 0);
  return seen;
}

// The same dataset in both encodings, so every behaviour is checked on each.
HashValue make_hash(bool table, int fields) {
  HashValue hash;
  EncodingLimits limits;
  for (int i = 0; i < fields; i++) hash.set("f" + std::to_string(i), "v" + std::to_string(i), limits);
  if (table) hash.convert_to_table();
  return hash;
}

TEST_CASE("hash: set, get, erase keep listpack insertion order") {
  HashValue hash;
  EncodingLimits limits;
  CHECK(hash.empty());
  CHECK(hash.encoding_name() == "listpack");
  CHECK(hash.set("b", "1", limits));
  CHECK(hash.set("a", "2", limits));
  CHECK(hash.set("c", "3", limits));
  CHECK_FALSE(hash.set("a", "22", limits));  // update in place: order unchanged
  CHECK(in_order(hash) == Pairs{{"b", "1"}, {"a", "22"}, {"c", "3"}});
  CHECK_FALSE(hash.set("a", "a much longer value than before", limits));
  CHECK_FALSE(hash.set("b", "", limits));
  CHECK(in_order(hash) == Pairs{{"b", ""}, {"a", "a much longer value than before"}, {"c", "3"}});
  std::string_view value;
  CHECK(hash.get("a", &value));
  CHECK(value == "a much longer value than before");
  CHECK_FALSE(hash.get("zz", &value));
  CHECK(hash.contains("c"));
  CHECK(hash.erase("a"));
  CHECK_FALSE(hash.erase("a"));
  CHECK(in_order(hash) == Pairs{{"b", ""}, {"c", "3"}});
  CHECK(hash.set("a", "x", limits));
  CHECK(in_order(hash) == Pairs{{"b", ""}, {"c", "3"}, {"a", "x"}});
  CHECK(hash.size() == 3);
  CHECK(hash.encoding_name() == "listpack");
}

TEST_CASE("hash: binary fields and long length prefixes") {
  HashValue hash;
  EncodingLimits limits;
  limits.hash_max_listpack_value = 100000;
  const std::string zero("a\0b", 3);
  const std::string long_value(20000, 'x');  // a 3-byte length prefix
  CHECK(hash.set(zero, zero, limits));
  CHECK(hash.set("", "", limits));
  CHECK(hash.set("long", long_value, limits));
  CHECK(hash.set("after", "1", limits));
  std::string_view value;
  REQUIRE(hash.get(zero, &value));
  CHECK(value == zero);
  REQUIRE(hash.get("", &value));
  CHECK(value.empty());
  REQUIRE(hash.get("long", &value));
  CHECK(value == long_value);
  // Shrinking and growing across prefix sizes keeps the neighbours intact.
  CHECK_FALSE(hash.set("long", "short", limits));
  CHECK(in_order(hash) == Pairs{{zero, zero}, {"", ""}, {"long", "short"}, {"after", "1"}});
  CHECK_FALSE(hash.set("long", std::string(300, 'y'), limits));
  REQUIRE(hash.get("after", &value));
  CHECK(value == "1");
  CHECK(hash.encoding_name() == "listpack");
}

TEST_CASE("hash: listpack converts past the entry limit, even on update after a lowered limit") {
  HashValue hash;
  EncodingLimits limits;
  limits.hash_max_listpack_entries = 3;
  for (const char* f : {"a", "b", "c"}) hash.set(f, "v", limits);
  CHECK(hash.encoding_name() == "listpack");
  hash.set("d", "v", limits);
  CHECK(hash.encoding_name() == "hashtable");
  CHECK(hash.size() == 4);
  hash.erase("d");
  hash.erase("c");
  CHECK(hash.encoding_name() == "hashtable");  // one-way

  HashValue lowered;
  EncodingLimits defaults;
  for (const char* f : {"a", "b", "c"}) lowered.set(f, "v", defaults);
  CHECK_FALSE(lowered.set("a", "w", limits));
  CHECK(lowered.encoding_name() == "listpack");  // 3 entries, limit 3
  limits.hash_max_listpack_entries = 2;
  CHECK_FALSE(lowered.set("a", "x", limits));
  CHECK(lowered.encoding_name() == "hashtable");
  CHECK(as_map(lowered) == std::map<std::string, std::string>{{"a", "x"}, {"b", "v"}, {"c", "v"}});

  HashValue none;
  limits.hash_max_listpack_entries = 0;
  none.set("a", "1", limits);
  CHECK(none.encoding_name() == "hashtable");
}

TEST_CASE("hash: listpack converts on a long field or value, checked before setting") {
  EncodingLimits limits;  // 64 bytes
  HashValue hash;
  hash.set("f", std::string(64, 'v'), limits);
  hash.set(std::string(64, 'f'), "v", limits);
  CHECK(hash.encoding_name() == "listpack");
  hash.set("g", std::string(65, 'v'), limits);
  CHECK(hash.encoding_name() == "hashtable");
  CHECK(hash.size() == 3);

  HashValue by_field;
  by_field.set(std::string(65, 'f'), "v", limits);
  CHECK(by_field.encoding_name() == "hashtable");

  HashValue checked_first;
  checked_first.set("a", "1", limits);
  checked_first.convert_if_longer_than_limit(64, limits);
  CHECK(checked_first.encoding_name() == "listpack");
  checked_first.convert_if_longer_than_limit(65, limits);
  CHECK(checked_first.encoding_name() == "hashtable");
  std::string_view value;
  REQUIRE(checked_first.get("a", &value));
  CHECK(value == "1");
}

TEST_CASE("hash: both encodings behave alike") {
  for (bool table : {false, true}) {
    CAPTURE(table);
    HashValue hash = make_hash(table, 50);
    EncodingLimits limits;
    CHECK(hash.encoding_name() == (table ? "hashtable" : "listpack"));
    CHECK(hash.size() == 50);
    std::string_view value;
    REQUIRE(hash.get("f7", &value));
    CHECK(value == "v7");
    CHECK_FALSE(hash.set("f7", "seven", limits));
    REQUIRE(hash.get("f7", &value));
    CHECK(value == "seven");
    CHECK(hash.erase("f7"));
    CHECK_FALSE(hash.contains("f7"));
    CHECK(hash.size() == 49);
    CHECK(as_map(hash).size() == 49);
    CHECK(hash.pairs().size() == 49);

    std::unique_ptr<HashValue> copy = hash.clone();
    CHECK(copy->encoding_name() == hash.encoding_name());
    CHECK(as_map(*copy) == as_map(hash));
    copy->set("f1", "changed", limits);
    REQUIRE(hash.get("f1", &value));
    CHECK(value == "v1");  // deep copy
  }
}

TEST_CASE("hash: scan of a listpack returns everything with cursor 0") {
  HashValue hash = make_hash(false, 10);
  uint64_t calls = 0;
  CHECK(scan_all(hash, &calls) == as_map(hash));
  CHECK(calls == 1);
  size_t seen = 0;
  CHECK(hash.scan(12345, [&](std::string_view, std::string_view) { seen++; }) == 0);
  CHECK(seen == 10);
}

TEST_CASE("hash: a listpack stays consistent through heavy growth and shrinking") {
  HashValue hash;
  EncodingLimits limits;
  limits.hash_max_listpack_entries = 100000;
  std::map<std::string, std::string> expected;
  for (int i = 0; i < 2000; i++) {
    std::string field = "field:" + std::to_string(i);
    std::string value(static_cast<size_t>(i % 50), static_cast<char>('a' + i % 26));
    hash.set(field, value, limits);
    expected[field] = value;
  }
  for (int i = 0; i < 2000; i += 3) {
    hash.set("field:" + std::to_string(i), "changed", limits);
    expected["field:" + std::to_string(i)] = "changed";
  }
  for (int i = 0; i < 2000; i++) {
    if (i % 7 == 0) continue;
    CHECK(hash.erase("field:" + std::to_string(i)));
    expected.erase("field:" + std::to_string(i));
  }
  CHECK(hash.encoding_name() == "listpack");
  CHECK(hash.size() == expected.size());
  CHECK(as_map(hash) == expected);
}

TEST_CASE("hash: table scan covers every field present throughout, across growth and shrink") {
  HashValue hash = make_hash(true, 200);
  EncodingLimits limits;
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int step = 0;
  do {
    cursor = hash.scan(cursor, [&](std::string_view f, std::string_view) { seen.emplace(f); });
    // Grow the table a lot in the middle of the walk, then shrink it (only new fields go).
    if (step == 3) {
      for (int i = 0; i < 3000; i++) hash.set("new" + std::to_string(i), "x", limits);
    }
    if (step == 40) {
      for (int i = 0; i < 3000; i++) hash.erase("new" + std::to_string(i));
    }
    step++;
  } while (cursor != 0);
  for (int i = 0; i < 200; i++) CHECK(seen.count("f" + std::to_string(i)) == 1);
}

TEST_CASE("hash: random sampling") {
  std::mt19937_64 random(7);
  for (bool table : {false, true}) {
    CAPTURE(table);
    HashValue hash = make_hash(table, 20);
    const auto all = as_map(hash);

    std::set<std::string> picked;
    for (int i = 0; i < 2000; i++) {
      auto [field, value] = hash.random_pair(random);
      REQUIRE(all.count(std::string(field)) == 1);
      CHECK(all.at(std::string(field)) == value);
      picked.emplace(field);
    }
    CHECK(picked.size() == 20);  // every field shows up eventually

    size_t visits = 0;
    hash.sample_with_repetition(500, random, [&](std::string_view f, std::string_view) {
      CHECK(all.count(std::string(f)) == 1);
      visits++;
    });
    CHECK(visits == 500);

    for (size_t count : {1, 5, 7, 19}) {
      std::set<std::string> distinct;
      hash.sample_distinct(count, random, [&](std::string_view f, std::string_view v) {
        CHECK(all.at(std::string(f)) == v);
        distinct.emplace(f);
      });
      CHECK(distinct.size() == count);
    }
  }
}

TEST_CASE("hash: distinct sampling of a small share of a big table") {
  std::mt19937_64 random(11);
  HashValue hash = make_hash(true, 3000);
  std::set<std::string> distinct;
  size_t visits = 0;
  hash.sample_distinct(100, random, [&](std::string_view f, std::string_view) {
    distinct.emplace(f);
    visits++;
  });
  CHECK(visits == 100);
  CHECK(distinct.size() == 100);
}

}  // namespace
}  // namespace rd
