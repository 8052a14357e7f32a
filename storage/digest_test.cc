// DEBUG DIGEST must equal real Redis's: the expected values below were produced by Redis 7.0.15
// for the same commands.
#include "storage/digest.h"

#include <doctest/doctest.h>

#include "storage/hash.h"
#include "storage/list.h"
#include "storage/set.h"
#include "storage/zset.h"

using namespace rd;

TEST_CASE("digest: empty keyspace is all zeros") {
  Keyspace ks(16);
  CHECK(keyspace_digest_hex(ks, 0) == std::string(40, '0'));
}

TEST_CASE("digest: equals Redis 7.0.15 for every type") {
  EncodingLimits limits;
  Keyspace ks(16);
  ks.db(0).add("foo", Value(std::string("bar")));
  // SET foo bar
  CHECK(keyspace_digest_hex(ks, 0) == "d2ab4820c1be0580ea28efbfe8bfa1dc05bb802a");
  // RPUSH l a b 1; SADD s x 2; HSET h f v; ZADD z 0.1 a 1.5 b; PEXPIREAT foo ...; SELECT 1; SET k v
  auto list = std::make_unique<ListValue>();
  for (const char* item : {"a", "b", "1"}) list->push_back(item);
  ks.db(0).add("l", Value(std::move(list)));
  auto set = std::make_unique<SetValue>();
  set->add("x", limits);
  set->add("2", limits);
  ks.db(0).add("s", Value(std::move(set)));
  auto hash = std::make_unique<HashValue>();
  hash->set("f", "v", limits);
  ks.db(0).add("h", Value(std::move(hash)));
  auto zset = std::make_unique<ZSetValue>();
  zset->add("a", 0.1, limits);
  zset->add("b", 1.5, limits);
  ks.db(0).add("z", Value(std::move(zset)));
  ks.db(0).set_expire(ks.db(0).find("foo"), 4000000000000);
  ks.db(1).add("k", Value(std::string("v")));
  CHECK(keyspace_digest_hex(ks, 0) == "1f0c94b18267c968457b8d4f0a542a2f6f1e3df2");
  const Db& db = ks.db(0);
  CHECK(value_digest_hex(db.find("foo")->value, true) == "8ec3828f7209dd3abdf6ee448de8b0c0bd53265f");
  CHECK(value_digest_hex(db.find("l")->value) == "981fd62c1655c074205cff40b800bd5a5bfdcd41");
  CHECK(value_digest_hex(db.find("s")->value) == "7904f640014061fb37c6855115964bd3eaaed924");
  CHECK(value_digest_hex(db.find("h")->value) == "90c76e9e9f4c62d642a34fc97c7dad503b51f906");
  CHECK(value_digest_hex(db.find("z")->value) == "a570ed0e863ead5fd85d8ef49426723f06d20ca2");
}
