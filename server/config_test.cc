#include "server/config.h"

#include <doctest/doctest.h>

namespace rd {
namespace {

TEST_CASE("defaults are Redis 7.0's") {
  Config config;
  CHECK(config.get("port") == "6379");
  CHECK(config.get("databases") == "16");
  CHECK(config.get("maxclients") == "10000");
  CHECK(config.get("appendfsync") == "everysec");
  CHECK(config.get("save") == "3600 1 300 100 60 10000");
  CHECK(config.get("bind") == "127.0.0.1 -::1");
  CHECK(config.get("proto-max-bulk-len") == "536870912");
}

TEST_CASE("typed values are validated with Redis's reasons") {
  Config config;
  CHECK(config.set("maxmemory", "foo") == "argument must be a memory value");
  CHECK(config.set("maxmemory", "1gb") == "");
  CHECK(config.get("maxmemory") == "1073741824");
  CHECK(config.set("maxclients", "abc") == "argument couldn't be parsed into an integer");
  CHECK(config.set("port", "70000") == "argument must be between 0 and 65535 inclusive");
  CHECK(config.set("appendfsync", "maybe") == "argument(s) must be one of the following: everysec, always, no");
  CHECK(config.set("appendfsync", "ALWAYS") == "");
  CHECK(config.get("appendfsync") == "always");
  CHECK(config.set("appendonly", "perhaps") == "argument must be 'yes' or 'no'");
  CHECK(config.set("save", "100") == "Invalid save parameters");
  CHECK(config.set("daemonize", "yes") == "can't set immutable config");
}

TEST_CASE("memory units") {
  int64_t bytes = 0;
  CHECK(parse_memory("1k", &bytes));
  CHECK(bytes == 1000);
  CHECK(parse_memory("1kb", &bytes));
  CHECK(bytes == 1024);
  CHECK(parse_memory("2MB", &bytes));
  CHECK(bytes == 2 * 1024 * 1024);
  CHECK_FALSE(parse_memory("1xb", &bytes));
  CHECK_FALSE(parse_memory("", &bytes));
}

TEST_CASE("config files: comments, quotes, cumulative save lines, aliases") {
  Config config;
  std::string error = config.load_text(
      "# a comment\n"
      "port 7777\n"
      "   \n"
      "save 900 1\n"
      "save 300 10\n"
      "slaveof 127.0.0.1 6380\n"
      "requirepass \"with space\"\n"
      "hash-max-ziplist-entries 7\n");
  CHECK(error == "");
  CHECK(config.get("port") == "7777");
  CHECK(config.get("save") == "900 1 300 10");
  CHECK(config.get("replicaof") == "127.0.0.1 6380");
  CHECK(config.get("requirepass") == "with space");
  CHECK(config.get("hash-max-listpack-entries") == "7");
}

TEST_CASE("bad directives are fatal and name the line") {
  Config config;
  std::string error = config.load_text("port 1\nbogus 1\n");
  CHECK(error.find("Reading the configuration file, at line 2") != std::string::npos);
  CHECK(error.find(">>> 'bogus 1'") != std::string::npos);
  CHECK(error.find("Bad directive or wrong number of arguments") != std::string::npos);
  Config other;
  CHECK(other.load_text("maxmemory abc\n").find("argument must be a memory value") != std::string::npos);
}

TEST_CASE("command-line options: --replicaof as one or two arguments") {
  Config a;
  CHECK(a.load_options({{"replicaof", "10.0.0.1 6379"}}) == "");
  CHECK(a.get("replicaof") == "10.0.0.1 6379");
  Config b;
  CHECK(b.load_options({{"replicaof", "10.0.0.1", "6379"}}) == "");
  CHECK(b.get("replicaof") == "10.0.0.1 6379");
  Config c;
  CHECK(c.load_options({{"save", ""}}) == "");
  CHECK(c.get("save") == "");
  Config d;
  CHECK(d.load_options({{"nonsense", "1"}}).find("Bad directive") != std::string::npos);
}

TEST_CASE("CONFIG GET patterns include aliases; plain names echo the spelling") {
  Config config;
  auto all = config.matching("*max*ziplist*");
  bool has_alias = false;
  for (const auto& [name, value] : all) has_alias |= name == "hash-max-ziplist-entries";
  CHECK(has_alias);
  auto exact = config.matching("MAXMEMORY");
  REQUIRE(exact.size() == 1);
  CHECK(exact[0].first == "MAXMEMORY");
  CHECK(config.matching("nosuchparam").empty());
}

}  // namespace
}  // namespace rd
