// The AOF manifest: what Redis 7.0 writes parses, and what we write reads back the same.
#include <doctest/doctest.h>

#include "server/aof.h"

using namespace rd;

TEST_CASE("aof manifest: Redis's format round trips") {
  const std::string text =
      "file appendonly.aof.2.base.rdb seq 2 type b\n"
      "file appendonly.aof.1.base.rdb seq 1 type h\n"
      "file appendonly.aof.3.incr.aof seq 3 type i\n"
      "file appendonly.aof.4.incr.aof seq 4 type i\n";
  AofManifest m;
  REQUIRE(AofManifest::parse(text, &m) == "");
  REQUIRE(m.base);
  CHECK(m.base->name == "appendonly.aof.2.base.rdb");
  CHECK(m.base_seq == 2);
  CHECK(m.incr_seq == 4);
  CHECK(m.incrs.size() == 2);
  CHECK(m.history.size() == 1);
  CHECK(m.format() == text);
}

TEST_CASE("aof manifest: keys in any order, quoted names, comments") {
  AofManifest m;
  REQUIRE(AofManifest::parse("# comment\ntype i seq 7 file \"my file.aof\"\n", &m) == "");
  CHECK(m.incrs.at(0).name == "my file.aof");
  CHECK(m.format() == "file \"my file.aof\" seq 7 type i\n");
}

TEST_CASE("aof manifest: invalid ones are rejected") {
  AofManifest m;
  CHECK(AofManifest::parse("", &m) != "");
  CHECK(AofManifest::parse("file a seq 1 type b", &m) != "");  // no final newline
  CHECK(AofManifest::parse("file a seq 1 type b\nfile b seq 2 type b\n", &m) != "");
  CHECK(AofManifest::parse("file a seq 2 type i\nfile b seq 1 type i\n", &m) != "");
  CHECK(AofManifest::parse("file a seq x type i\n", &m) != "");
  CHECK(AofManifest::parse("file a seq 1 type z\n", &m) != "");
  CHECK(aof_base_name("appendonly.aof", 3) == "appendonly.aof.3.base.rdb");
  CHECK(aof_incr_name("appendonly.aof", 3) == "appendonly.aof.3.incr.aof");
}
