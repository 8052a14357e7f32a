// Unit tests for server/slowlog: argument trimming and redaction as Redis 7.0.15 logs them.
#include "server/slowlog.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace rd {
namespace {

std::vector<std::string> logged(const char* command, std::vector<std::string_view> argv) {
  CommandSpec spec;
  spec.name = command;
  return SlowLog::logged_args(spec, argv.data(), argv.size());
}

TEST_CASE("slow log trims long and numerous arguments") {
  std::string long_arg(200, 'x');
  auto args = logged("set", {"set", "k", long_arg});
  REQUIRE(args.size() == 3);
  CHECK(args[2] == std::string(128, 'x') + "... (72 more bytes)");
  CHECK(logged("get", {"get", std::string_view(long_arg).substr(0, 128)})[1].size() == 128);

  std::vector<std::string> storage;
  for (int i = 0; i < 40; i++) storage.push_back(std::to_string(i));
  std::vector<std::string_view> many = {"rpush", "l"};
  for (const std::string& s : storage) many.push_back(s);
  args = logged("rpush", many);
  REQUIRE(args.size() == 32);
  CHECK(args[30] == "28");
  CHECK(args[31] == "... (11 more arguments)");
  many.resize(32);
  CHECK(logged("rpush", many).size() == 32);
  CHECK(logged("rpush", many)[31] == "29");
}

TEST_CASE("slow log redacts secrets like Redis") {
  CHECK(logged("auth", {"auth", "pw"}) == std::vector<std::string>{"auth", "(redacted)"});
  CHECK(logged("auth", {"auth", "u", "pw"}) == std::vector<std::string>{"auth", "(redacted)", "(redacted)"});
  CHECK(logged("auth", {"auth", "a", "b", "c"})[1] == "a");  // a syntax error redacts nothing
  CHECK(logged("hello", {"hello", "2", "auth", "u", "p"}) ==
        std::vector<std::string>{"hello", "2", "auth", "(redacted)", "(redacted)"});
  CHECK(logged("hello", {"hello", "4", "auth", "u", "p"})[3] == "u");  // bad version: not parsed
  CHECK(logged("hello", {"hello", "3", "setname", "n", "auth", "u", "p", "x"})[5] == "(redacted)");
  CHECK(logged("config|set", {"config", "set", "masteruser", "u", "nosuch", "q", "masterauth", "p"}) ==
        std::vector<std::string>{"config", "set", "masteruser", "(redacted)", "nosuch", "q", "masterauth",
                                 "(redacted)"});
  CHECK(logged("config|set", {"config", "set", "masterauth", "", "x"})[3] == "");  // odd count: not parsed
  CHECK(logged("migrate", {"migrate", "h", "1", "", "0", "10", "copy", "auth2", "u", "p", "keys", "a"}) ==
        std::vector<std::string>{"migrate", "h", "1", "", "0", "10", "copy", "auth2", "(redacted)", "(redacted)",
                                 "keys", "a"});
  CHECK(logged("set", {"set", "auth", "x"})[2] == "x");
}

}  // namespace
}  // namespace rd
