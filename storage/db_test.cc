#include "storage/db.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

namespace rd {
namespace {

TEST_CASE("keys keep their bytes, values and expiry") {
  Db db;
  KeyEntry* e = db.add(std::string("k\0ey", 4), Value(std::string("v")));
  CHECK(e->key() == std::string_view("k\0ey", 4));
  CHECK(db.find(std::string_view("k\0ey", 4)) == e);
  CHECK_FALSE(e->has_expire());
  db.set_expire(e, 1000);
  CHECK(db.expires_count() == 1);
  CHECK(e->expired_at(1000));
  CHECK_FALSE(e->expired_at(999));
  db.clear_expire(e);
  CHECK(db.expires_count() == 0);
}

TEST_CASE("set replaces the value and clears the TTL unless asked to keep it") {
  Db db;
  KeyEntry* e = db.set("k", Value(std::string("1")));
  db.set_expire(e, 5000);
  db.set("k", Value(std::string("2")), /*keep_ttl=*/true);
  CHECK(db.find("k")->expire_at_ms == 5000);
  CHECK(db.find("k")->value.str() == "2");
  db.set("k", Value(std::string("3")));
  CHECK_FALSE(db.find("k")->has_expire());
  CHECK(db.expires_count() == 0);
}

TEST_CASE("expires_count follows erase, detach, attach and swap") {
  Db a;
  Db b;
  for (int i = 0; i < 10; i++) {
    KeyEntry* e = a.add("k" + std::to_string(i), Value(std::string("v")));
    if (i % 2 == 0) a.set_expire(e, 100 + i);
  }
  CHECK(a.expires_count() == 5);
  a.erase("k0");
  CHECK(a.expires_count() == 4);
  KeyEntry* moved = a.detach("k2");
  CHECK(a.expires_count() == 3);
  b.attach(moved);
  CHECK(b.expires_count() == 1);
  a.swap(b);
  CHECK(a.expires_count() == 1);
  CHECK(b.expires_count() == 3);
  CHECK(b.clear() == 8);
  CHECK(b.expires_count() == 0);
}

TEST_CASE("the active-expiry walk visits every volatile key once per pass") {
  Db db;
  std::set<std::string> volatile_keys;
  for (int i = 0; i < 1000; i++) {
    std::string key = "k" + std::to_string(i);
    KeyEntry* e = db.add(key, Value(std::string("v")));
    if (i % 3 == 0) {
      db.set_expire(e, i);
      volatile_keys.insert(key);
    }
  }
  std::set<std::string> seen;
  while (db.walk_volatile(16, [&](KeyEntry* e) { seen.insert(std::string(e->key())); })) {
  }
  CHECK(seen == volatile_keys);
}

}  // namespace
}  // namespace rd
