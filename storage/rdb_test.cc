// Unit tests of the RDB encoder and decoder: round trips of every type, hand-built files with
// the encodings Redis writes (old and new), expiry handling, and damaged files.
#include "storage/rdb.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "storage/digest.h"
#include "storage/hash.h"
#include "storage/list.h"
#include "storage/rdb_codec.h"
#include "storage/rdb_test_util.h"
#include "storage/set.h"
#include "storage/zset.h"

namespace {

using namespace rd;
using namespace std::literals;
using rdb_test::len;
using rdb_test::str;

constexpr int64_t kNow = 1700000000000;

// A canonical text form of a keyspace: sorted, with expiries.
std::string dump(const Keyspace& ks) {
  std::vector<std::string> lines;
  for (int db = 0; db < ks.db_count(); db++) {
    ks.db(db).for_each([&](const KeyEntry* e) {
      std::string line = std::to_string(db) + " " + std::string(e->key()) + " ";
      if (e->has_expire()) line += "@" + std::to_string(e->expire_at_ms) + " ";
      std::vector<std::string> items;
      const Value& v = e->value;
      switch (v.type()) {
        case ValueType::kString: line += "string " + v.str(); break;
        case ValueType::kList:
          line += "list";
          v.list().for_each([&](std::string_view s) { line += " " + std::string(s); });
          break;
        case ValueType::kSet:
          line += "set";
          v.set().for_each([&](std::string_view s) { items.emplace_back(s); });
          break;
        case ValueType::kZSet:
          line += "zset";
          v.zset().for_each([&](std::string_view s, double d) { items.push_back(std::string(s) + "=" + std::to_string(d)); });
          break;
        case ValueType::kHash:
          line += "hash";
          v.hash().for_each([&](std::string_view f, std::string_view x) { items.push_back(std::string(f) + "=" + std::string(x)); });
          break;
        default:
          line += "other";  // streams have their own round-trip tests
          break;
      }
      std::sort(items.begin(), items.end());
      for (const std::string& item : items) line += " " + item;
      lines.push_back(line);
    });
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

void fill_every_type(Keyspace& ks) {
  EncodingLimits limits;
  Db& db0 = ks.db(0);
  db0.add("str", Value(std::string("hello")));
  db0.add("int", Value(std::string("12345")));
  db0.add("negint", Value(std::string("-2147483648")));
  db0.add("bigint", Value(std::string("123456789012")));
  db0.add("notint", Value(std::string("0123")));
  db0.add("empty", Value(std::string()));
  db0.add("long", Value(std::string(5000, 'q')));
  std::string noisy;
  for (int i = 0; i < 300; i++) noisy.push_back(static_cast<char>(i * 31 + 7));
  db0.add("binary", Value(noisy));
  auto list = std::make_unique<ListValue>();
  for (int i = 0; i < 1000; i++) list->push_back(i % 3 ? "item" + std::to_string(i) : std::to_string(i));
  db0.add("list", Value(std::move(list)));
  auto set = std::make_unique<SetValue>();
  for (int i = 0; i < 600; i++) set->add(std::to_string(i), limits);
  db0.add("intset", Value(std::move(set)));
  auto zset = std::make_unique<ZSetValue>();
  zset->add("a", 0.1, limits);
  zset->add("b", -1e300, limits);
  zset->add("inf", INFINITY, limits);
  zset->add("ninf", -INFINITY, limits);
  KeyEntry* z = db0.add("zset", Value(std::move(zset)));
  db0.set_expire(z, kNow + 100000);
  // Small ones: listpack/intset encodings in memory, so the compact RDB encodings too.
  auto small_hash = std::make_unique<HashValue>();
  for (const char* f : {"a", "b", "300", "-5000", "70000"}) small_hash->set(f, std::string(f) + "v", limits);
  small_hash->set("long", std::string(3000, 'L'), EncodingLimits{.hash_max_listpack_value = 5000});
  db0.add("small_hash", Value(std::move(small_hash)));
  auto small_zset = std::make_unique<ZSetValue>();
  small_zset->add("x", 3, limits);
  small_zset->add("y", -2.5, limits);
  small_zset->add("z", 1e20, limits);
  small_zset->add("w", -INFINITY, limits);
  small_zset->add("12", 0.1, limits);
  db0.add("small_zset", Value(std::move(small_zset)));
  auto small_set = std::make_unique<SetValue>();
  for (int64_t v : {int64_t{1}, int64_t{-40000}, int64_t{1} << 40}) small_set->add(std::to_string(v), limits);
  db0.add("small_intset", Value(std::move(small_set)));
  auto big_items = std::make_unique<ListValue>();
  for (int i = 0; i < 200; i++) big_items->push_back(std::string(static_cast<size_t>(i * 50), 'x'));
  db0.add("list_of_big_items", Value(std::move(big_items)));
  Db& db5 = ks.db(5);
  auto hash = std::make_unique<HashValue>();
  for (int i = 0; i < 100; i++) hash->set("field" + std::to_string(i), std::string(i, 'v'), limits);
  db5.add("hash", Value(std::move(hash)));
  KeyEntry* s = db5.add("volatile", Value(std::string("x")));
  db5.set_expire(s, kNow + 5);
}

std::string save(const Keyspace& ks, bool compress = true, bool checksum = true) {
  RdbSaveOptions options;
  options.now_ms = kNow;
  options.compress = compress;
  options.checksum = checksum;
  StringSink sink;
  REQUIRE(rdb_save(ks, options, sink));
  return sink.out;
}

RdbLoadResult load(std::string_view image, Keyspace& ks, bool skip_expired = true, int64_t now = kNow) {
  StringSource source(image);
  return rdb_load(source, ks, EncodingLimits{}, now, skip_expired);
}

// A complete file: header, body, EOF and a correct checksum.
std::string rdb_file(std::string_view body, int version = 10) {
  char magic[16];
  std::snprintf(magic, sizeof(magic), "REDIS%04d", version);
  std::string out = std::string(magic) + std::string(body) + "\xff"s;
  uint64_t crc = rdb::crc64(0, out.data(), out.size());
  rdb_test::put_le(out, crc, 8);
  return out;
}

}  // namespace

TEST_CASE("rdb: every type round trips, with and without compression") {
  Keyspace original(16);
  fill_every_type(original);
  for (bool compress : {true, false}) {
    std::string image = save(original, compress);
    CHECK(image.substr(0, 9) == "REDIS0010");
    Keyspace loaded(16);
    RdbLoadResult result = load(image, loaded);
    REQUIRE(result.error == "");
    CHECK(result.keys_loaded == 17);
    CHECK(dump(loaded) == dump(original));
    CHECK(keyspace_digest_hex(loaded, kNow) == keyspace_digest_hex(original, kNow));
  }
  CHECK(save(original, true).size() < save(original, false).size());  // LZF did something
}

TEST_CASE("rdb: compact collections are written with Redis's compact types") {
  Keyspace ks(16);
  fill_every_type(ks);
  StringSink sink;
  RdbSaveOptions options;
  options.now_ms = kNow;
  REQUIRE(rdb_save(ks, options, sink));
  auto type_before = [&](const std::string& key) {
    size_t at = sink.out.find(rdb_test::str(key));
    REQUIRE(at != std::string::npos);
    return static_cast<unsigned char>(sink.out[at - 1]);
  };
  CHECK(type_before("small_hash") == rdb::kTypeHashListpack);
  CHECK(type_before("small_zset") == rdb::kTypeZSetListpack);
  CHECK(type_before("small_intset") == rdb::kTypeSetIntset);
  CHECK(type_before("list") == rdb::kTypeListQuicklist2);
  CHECK(type_before("zset") == rdb::kTypeZSetListpack);
}

TEST_CASE("rdb: rdbchecksum no writes a zero footer that loads") {
  Keyspace original(16);
  fill_every_type(original);
  std::string image = save(original, true, false);
  CHECK(image.substr(image.size() - 8) == std::string(8, '\0'));
  Keyspace loaded(16);
  CHECK(load(image, loaded).error == "");
  CHECK(dump(loaded) == dump(original));
}

TEST_CASE("rdb: FUNCTION libraries are written after the AUX fields and read back in order") {
  Keyspace original(16);
  fill_every_type(original);
  RdbSaveOptions options;
  options.function_libraries = {"#!lua name=a\nredis.register_function('f', function() return 1 end)",
                                std::string("#!lua name=b\n") + std::string(300, '-') + "\n"};
  StringSink sink;
  REQUIRE(rdb_save(original, options, sink));
  const size_t first_db = sink.out.find(static_cast<char>(rdb::kOpSelectDb));
  const size_t first_function = sink.out.find(static_cast<char>(rdb::kOpFunction2));
  CHECK(first_function < first_db);
  Keyspace loaded(16);
  RdbLoadResult result = load(sink.out, loaded);
  CHECK(result.error == "");
  CHECK(result.function_libraries == options.function_libraries);
  CHECK(dump(loaded) == dump(original));
  // The pre-GA opcode (7.0 release candidates) is refused as Redis refuses it.
  std::string pre_ga = sink.out;
  pre_ga[first_function] = static_cast<char>(rdb::kOpFunctionPreGa);
  std::fill(pre_ga.end() - 8, pre_ga.end(), '\0');  // no checksum
  Keyspace refused(16);
  CHECK(load(pre_ga, refused).error.find("Pre-GA function format not supported") != std::string::npos);
}

TEST_CASE("rdb: expired keys are skipped on save and, for masters, on load") {
  Keyspace ks(16);
  KeyEntry* e = ks.db(0).add("gone", Value(std::string("x")));
  ks.db(0).set_expire(e, kNow - 1);
  ks.db(0).add("kept", Value(std::string("y")));
  Keyspace loaded(16);
  CHECK(load(save(ks), loaded).keys_loaded == 1);

  std::string body = "\xfe\x00\xfc"s + std::string("\x01\x00\x00\x00\x00\x00\x00\x00", 8) + "\x00"s + str("old") + str("v") +
                     "\xfd"s + std::string("\x02\x00\x00\x00", 4) + "\x00"s + str("old2") + str("v") +
                     "\xfc"s + std::string("\xff\xff\xff\xff\xff\xff\xff\x0f", 8) + "\x00"s + str("future") + str("v");
  Keyspace master(16);
  RdbLoadResult r = load(rdb_file(body), master, true);
  CHECK(r.error == "");
  CHECK(r.keys_loaded == 1);
  CHECK(r.keys_expired == 2);
  Keyspace replica(16);
  CHECK(load(rdb_file(body), replica, false).keys_loaded == 3);
  CHECK(replica.db(0).find("old2")->expire_at_ms == 2000);  // FD: seconds
}

TEST_CASE("rdb: decodes every encoding Redis writes for our types") {
  using rdb_test::Item;
  std::string body;
  body += "\xfa"s + str("redis-ver") + str("7.2.4");
  body += "\xfe\x00\xfb\x10\x00"s;
  // lists: plain, ziplist, quicklist (ziplists), quicklist 2 (listpack + plain nodes)
  body += "\x01"s + str("l_plain") + len(2) + str("a") + str("b");
  body += "\x0a"s + str("l_zip") + str(rdb_test::ziplist({std::string("x"), int64_t{-7}}));
  body += "\x0e"s + str("l_quick") + len(2) + str(rdb_test::ziplist({int64_t{1}})) + str(rdb_test::ziplist({std::string("2")}));
  body += "\x12"s + str("l_quick2") + len(2) + len(2) + str(rdb_test::listpack({std::string("p"), int64_t{300}})) + len(1) +
          str(std::string(100, 'P'));
  // sets: plain, intset, listpack (7.2)
  body += "\x02"s + str("s_plain") + len(2) + str("m1") + str("m2");
  body += "\x0b"s + str("s_intset") + str(rdb_test::intset({1, 2, 70000}, 4));
  body += "\x14"s + str("s_lp") + str(rdb_test::listpack({std::string("u"), int64_t{9}}));
  // sorted sets: text scores, binary scores, ziplist, listpack
  body += "\x03"s + str("z_text") + len(3) + str("a") + "\x03"s + "1.5" + str("b") + "\xfe"s + str("c") + "\xff"s;
  std::string two(8, '\0');
  double d = 2.25;
  std::memcpy(two.data(), &d, 8);
  body += "\x05"s + str("z_bin") + len(1) + str("m") + two;
  body += "\x0c"s + str("z_zip") + str(rdb_test::ziplist({std::string("m"), int64_t{3}, std::string("n"), std::string("-0.5")}));
  body += "\x11"s + str("z_lp") + str(rdb_test::listpack({std::string("m"), std::string("1e3")}));
  // hashes: plain, zipmap, ziplist, listpack
  body += "\x04"s + str("h_plain") + len(1) + str("f") + str("v");
  body += "\x09"s + str("h_zipmap") + str(rdb_test::zipmap({{"f", "v"}, {"g", "w"}}));
  body += "\x0d"s + str("h_zip") + str(rdb_test::ziplist({std::string("f"), int64_t{10}}));
  body += "\x10"s + str("h_lp") + str(rdb_test::listpack({std::string("f"), std::string("v"), std::string("n"), int64_t{-3}}));
  // strings: the integer encodings and LZF
  body += "\x00"s + str("i8") + "\xc0\x85"s;
  body += "\x00"s + str("i16") + "\xc1\x34\x12"s;
  body += "\x00"s + str("i32") + "\xc2\x00\x00\x00\x80"s;
  body += "\x00"s + str("lzf") + "\xc3"s + len(5) + len(10) + "\x00" "a" "\xe0\x00\x00"s;
  // idle/freq hints and an aux field between keys
  body += "\xf8"s + len(100) + "\xf9\x05\xfa"s + str("aof-base") + str("0");
  body += "\x00"s + str("last") + str("z");

  for (int version : {6, 9, 10, 11, 12}) {
    Keyspace ks(16);
    RdbLoadResult r = load(rdb_file(body, version), ks);
    REQUIRE(r.error == "");
    std::string text = dump(ks);
    CHECK(text ==
          "0 h_lp hash f=v n=-3\n"
          "0 h_plain hash f=v\n"
          "0 h_zip hash f=10\n"
          "0 h_zipmap hash f=v g=w\n"
          "0 i16 string 4660\n"
          "0 i32 string -2147483648\n"
          "0 i8 string -123\n"
          "0 l_plain list a b\n"
          "0 l_quick list 1 2\n"
          "0 l_quick2 list p 300 " + std::string(100, 'P') + "\n"
          "0 l_zip list x -7\n"
          "0 last string z\n"
          "0 lzf string aaaaaaaaaa\n"
          "0 s_intset set 1 2 70000\n"
          "0 s_lp set 9 u\n"
          "0 s_plain set m1 m2\n"
          "0 z_bin zset m=2.250000\n"
          "0 z_lp zset m=1000.000000\n"
          "0 z_text zset a=1.500000 b=inf c=-inf\n"
          "0 z_zip zset m=3.000000 n=-0.500000\n");
  }
}

TEST_CASE("rdb: unsupported content gives a clear error") {
  Keyspace ks(16);
  // Streams load (stream_test.cc, test/e2e/streams_persistence_test.py); a damaged one fails.
  CHECK(!load(rdb_file("\xfe\x00\x0f"s + str("stream") + str("x")), ks).error.empty());
  CHECK(load(rdb_file("\xf6"s + str("lib")), ks).error.find("Pre-GA function format") == 0);
  CHECK(load(rdb_file("\x07"s + str("mod")), ks).error.find("Module") == 0);
  CHECK(load(rdb_file("\xfe\x20"s), ks).error.find("databases") != std::string::npos);
  CHECK(load(rdb_file("", 13), ks).error.find("Can't handle RDB format version 13") == 0);
  CHECK(load(std::string("RODIS0010\xff") + std::string(8, '\0'), ks).error.find("Wrong signature") == 0);
  Keyspace dup(16);
  CHECK(load(rdb_file("\x00"s + str("k") + str("a") + "\x00"s + str("k") + str("b")), dup).error.find("duplicated key") !=
        std::string::npos);
}

TEST_CASE("rdb: every truncation and every corrupted byte fails cleanly") {
  Keyspace ks(16);
  EncodingLimits limits;
  ks.db(0).add("s", Value(std::string("hello world hello world hello world")));
  ks.db(0).add("n", Value(std::string("42")));
  auto list = std::make_unique<ListValue>();
  list->push_back("a");
  list->push_back("b");
  ks.db(1).add("l", Value(std::move(list)));
  auto zset = std::make_unique<ZSetValue>();
  zset->add("m", 1.0, limits);
  KeyEntry* z = ks.db(1).add("z", Value(std::move(zset)));
  ks.db(1).set_expire(z, kNow + 1000);
  const std::string image = save(ks);
  for (size_t cut = 0; cut < image.size(); cut++) {
    Keyspace target(16);
    CHECK(load(image.substr(0, cut), target).error != "");
  }
  for (size_t at = 0; at < image.size(); at++) {
    for (unsigned char mask : {0x01, 0x80, 0xff}) {
      std::string damaged = image;
      damaged[at] = static_cast<char>(damaged[at] ^ mask);
      Keyspace target(16);
      CHECK_MESSAGE(load(damaged, target).error != "", "offset " << at);
    }
  }
}

TEST_CASE("rdb: serialized length matches the encoder") {
  CHECK(rdb_serialized_length(Value(std::string("abc")), true) == 4);
  CHECK(rdb_serialized_length(Value(std::string("100")), true) == 2);   // int8 encoding
  CHECK(rdb_serialized_length(Value(std::string(1000, 'a')), true) < 50);  // LZF
}
