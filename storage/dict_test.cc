#include "storage/dict.h"

#include <doctest/doctest.h>

#include <memory>
#include <random>
#include <set>
#include <string>

namespace rd {
namespace {

struct TestNode {
  TestNode* next = nullptr;
  std::string key;
};

struct TestOps {
  static std::string_view key(const TestNode* n) { return n->key; }
  static void destroy(TestNode* n) { std::unique_ptr<TestNode> owned(n); }
};

using TestDict = Dict<TestNode, TestOps>;

void add(TestDict& dict, const std::string& key) {
  auto node = std::make_unique<TestNode>();
  node->key = key;
  dict.insert(node.release());
}

std::set<std::string> scan_all(const TestDict& dict) {
  std::set<std::string> seen;
  uint64_t cursor = 0;
  do {
    cursor = dict.scan(cursor, [&](TestNode* n) { seen.insert(n->key); });
  } while (cursor != 0);
  return seen;
}

TEST_CASE("insert, find, unlink, erase") {
  TestDict dict;
  for (int i = 0; i < 1000; i++) add(dict, "k" + std::to_string(i));
  CHECK(dict.size() == 1000);
  CHECK(dict.find("k500") != nullptr);
  CHECK(dict.find("nope") == nullptr);
  CHECK(dict.erase("k500"));
  CHECK_FALSE(dict.erase("k500"));
  CHECK(dict.find("k500") == nullptr);
  TestNode* n = dict.unlink("k1");
  REQUIRE(n != nullptr);
  TestOps::destroy(n);
  CHECK(dict.size() == 998);
  for (int i = 0; i < 1000; i++) dict.erase("k" + std::to_string(i));
  CHECK(dict.empty());
  CHECK(dict.bucket_count() == 0);  // shrinks away completely
}

TEST_CASE("binary keys with NUL bytes") {
  TestDict dict;
  add(dict, std::string("a\0b", 3));
  add(dict, std::string("a\0c", 3));
  CHECK(dict.find(std::string_view("a\0b", 3)) != nullptr);
  CHECK(dict.find("a") == nullptr);
}

TEST_CASE("a full scan visits every element exactly when nothing changes") {
  TestDict dict;
  std::set<std::string> expected;
  for (int i = 0; i < 5000; i++) {
    add(dict, "key:" + std::to_string(i));
    expected.insert("key:" + std::to_string(i));
  }
  CHECK(scan_all(dict) == expected);
}

TEST_CASE("scan returns every element present throughout, across growth and shrinking") {
  std::mt19937 rng(7);
  for (int round = 0; round < 20; round++) {
    TestDict dict;
    std::set<std::string> stable;
    for (int i = 0; i < 300; i++) {
      add(dict, "stable" + std::to_string(i));
      stable.insert("stable" + std::to_string(i));
    }
    std::set<std::string> seen;
    uint64_t cursor = 0;
    int churn = round % 2 == 0 ? 0 : 3000;
    for (int i = 0; i < churn; i++) add(dict, "churn" + std::to_string(i));
    int step = 0;
    do {
      cursor = dict.scan(cursor, [&](TestNode* n) { seen.insert(n->key); });
      // Between calls the table grows (even rounds) or shrinks (odd rounds) under the cursor.
      if (++step % 2 != 0) continue;
      if (round % 2 == 0) {
        add(dict, "churn" + std::to_string(churn++));
      } else {
        for (int i = 0; i < 20 && churn > 0; i++) dict.erase("churn" + std::to_string(--churn));
      }
    } while (cursor != 0);
    for (const std::string& key : stable) REQUIRE(seen.count(key) == 1);
  }
}

TEST_CASE("random_node returns members and eventually all of them") {
  TestDict dict;
  for (int i = 0; i < 20; i++) add(dict, std::to_string(i));
  std::mt19937_64 rng(3);
  std::set<std::string> seen;
  for (int i = 0; i < 2000; i++) {
    TestNode* n = dict.random_node([&] { return rng(); });
    REQUIRE(n != nullptr);
    seen.insert(n->key);
  }
  CHECK(seen.size() == 20);
  TestDict empty;
  CHECK(empty.random_node([&] { return rng(); }) == nullptr);
}

TEST_CASE("replace keeps the position of a reallocated node") {
  TestDict dict;
  add(dict, "a");
  add(dict, "b");
  TestNode* old = dict.find("a");
  auto fresh = std::make_unique<TestNode>();
  fresh->key = "a";
  TestNode* raw = fresh.release();
  TestOps::destroy(dict.replace(old, raw));
  CHECK(dict.find("a") == raw);
  CHECK(dict.size() == 2);
}

}  // namespace
}  // namespace rd
