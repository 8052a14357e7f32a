// Unit tests for the ACL model (server/acl_user.h) and SHA-256: rules, their canonical
// description (expected strings taken from Redis 7.0.15's ACL GETUSER / ACL LIST), checks.
#include "server/acl.h"
#include "server/acl_sha256.h"
#include "server/acl_user.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace rd {
namespace {

AclUser user_with(std::vector<std::string> rules) {
  AclUser user("u", false);
  for (const std::string& rule : rules) REQUIRE(user.apply(rule) == AclRuleError::kOk);
  return user;
}

AclVerdict check(const AclUser& user, std::vector<std::string_view> argv) {
  const AclCommand* command = AclCommands::get().lookup(argv);
  REQUIRE(command != nullptr);
  return user.check(*command, argv);
}

TEST_CASE("sha256 known answers") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("foo") == "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Lengths around the padding boundary (55, 56, 64 bytes) must not crash and must differ.
  CHECK(sha256_hex(std::string(55, 'x')) != sha256_hex(std::string(56, 'x')));
  CHECK(sha256_hex(std::string(64, 'x')).size() == 64);
}

TEST_CASE("command index covers Redis's commands and categories") {
  const AclCommands& index = AclCommands::get();
  CHECK(index.top_level().size() == 240);  // COMMAND COUNT of Redis 7.0.15
  const AclCommand* get = index.find("GET");
  REQUIRE(get != nullptr);
  CHECK((get->categories & (1u << AclCommands::category("read"))) != 0);
  const AclCommand* config_get = index.find("config|get");
  REQUIRE(config_get != nullptr);
  CHECK(config_get->parent == index.find("config")->id);
  CHECK(index.lookup({"config", "GET", "x"}) == config_get);
  CHECK(index.lookup({"config", "nosuch"}) == nullptr);
  CHECK(index.lookup({"config"}) == index.find("config"));
  CHECK(AclCommands::category("Admin") == 13);
  CHECK(AclCommands::category("all") == -1);
}

TEST_CASE("default user and new users are described like Redis") {
  CHECK(AclUser::make_default().describe() == "on nopass ~* &* +@all");
  AclUser fresh("u", false);
  CHECK(fresh.describe() == "off resetchannels -@all");
  AclUser open_channels("u", true);
  CHECK(open_channels.describe() == "off &* -@all");
  CHECK(user_with({"reset"}).describe() == "off sanitize-payload resetchannels -@all");
}

TEST_CASE("rules and their canonical description") {
  AclUser user = user_with({"on", ">pass1", ">pass2", "~foo*", "%R~bar*", "%W~baz*", "%RW~qux", "&chan*", "+@read",
                            "-get", "+config|get", "+select|0", "(~x* +set)", "(%R~y* +@hash)"});
  CHECK(user.describe() ==
        "on #e6c3da5b206634d7f3f3586d747ffdb36b5c675757b380c6a5fe5c570c714349 "
        "#1ba3d16e9881959f8c9a9762854f72c6e6321cdd44358a10a4e939033117eab9 ~foo* %R~bar* %W~baz* ~qux "
        "resetchannels &chan* -@all +@read +config|get -get +select|0 (~x* resetchannels -@all +set) "
        "(%R~y* resetchannels -@all +@hash)");
  CHECK(user.selectors[0].describe_keys() == "~foo* %R~bar* %W~baz* ~qux");
  CHECK(user.selectors[0].describe_channels() == "&chan*");
  CHECK(user_with({"+@all", "-@admin"}).selectors[0].describe_commands() == "+@all -@admin");
  CHECK(user_with({"-@all", "+@read", "+@write"}).selectors[0].describe_commands() == "-@all +@write +@read");
  CHECK(user_with({"-@all", "+config", "-config|set"}).selectors[0].describe_commands() == "-@all +config -config|set");
  CHECK(user_with({"+@all", "-config", "+config|get"}).selectors[0].describe_commands() == "+@all -config +config|get");
  CHECK(user_with({"+select|0", "+SELECT|0", "+select|X", "+select|x"}).selectors[0].describe_commands() ==
        "-@all +select|0 +select|X");
  CHECK(user_with({"+get|x", "+@all"}).selectors[0].describe_commands() == "+@all");
  CHECK(user_with({"~a", "~a", "%R~a", "%R", "&a", "&a"}).describe() == "off ~a %R~ resetchannels &a -@all");
  CHECK(user_with({"allkeys", "allchannels", "allcommands"}).unrestricted());
  CHECK(!user_with({"allkeys", "allchannels", "+@all", "-get"}).unrestricted());
  CHECK(user_with({"(~* &* +@all)"}).unrestricted());
}

TEST_CASE("rule errors") {
  AclUser user("u", false);
  CHECK(user.apply("foo") == AclRuleError::kSyntax);
  CHECK(user.apply("+nosuch") == AclRuleError::kUnknownCommand);
  CHECK(user.apply("+@nosuch") == AclRuleError::kUnknownCommand);
  CHECK(user.apply("+config|get|x") == AclRuleError::kSubcommandFirstArg);
  CHECK(user.apply("+config|nosuch") == AclRuleError::kUnknownCommand);
  CHECK(user.apply("-select|0") == AclRuleError::kUnknownCommand);
  CHECK(user.apply("+config|") == AclRuleError::kSyntax);
  CHECK(user.apply("+") == AclRuleError::kUnknownCommand);
  CHECK(user.apply("%") == AclRuleError::kSyntax);
  CHECK(user.apply("%~x") == AclRuleError::kSyntax);
  CHECK(user.apply("%RR~x") == AclRuleError::kSyntax);
  CHECK(user.apply("#abc") == AclRuleError::kBadHash);
  CHECK(user.apply("<nope") == AclRuleError::kNoSuchPassword);
  CHECK(user.apply("(on)") == AclRuleError::kSyntax);
  CHECK(user.apply("~*") == AclRuleError::kOk);
  CHECK(user.apply("~x") == AclRuleError::kKeyAfterAllKeys);
  CHECK(user.apply("&*") == AclRuleError::kOk);
  CHECK(user.apply("&x") == AclRuleError::kChannelAfterAll);
  CHECK(user.apply("") == AclRuleError::kOk);
}

TEST_CASE("passwords") {
  AclUser user = user_with({"on", ">secret"});
  CHECK(user.password_matches("secret"));
  CHECK(!user.password_matches("Secret"));
  REQUIRE(user.apply("<secret") == AclRuleError::kOk);
  CHECK(!user.password_matches("secret"));
  REQUIRE(user.apply("nopass") == AclRuleError::kOk);
  CHECK(user.password_matches("anything"));
  REQUIRE(user.apply("resetpass") == AclRuleError::kOk);
  CHECK(!user.password_matches(""));
}

TEST_CASE("checks: commands, first args, keys with read/write, channels, selectors") {
  AclUser user = user_with({"~k*", "%R~r*", "%W~w*", "&ch*", "+get", "+set", "+select|1", "+config|get",
                            "+publish", "+psubscribe", "+rpoplpush", "+sort", "+auth"});
  CHECK(check(user, {"get", "k1"}).denial == AclDenial::kNone);
  CHECK(check(user, {"get", "r1"}).denial == AclDenial::kNone);
  CHECK(check(user, {"get", "w1"}).denial == AclDenial::kKey);
  CHECK(check(user, {"set", "w1", "v"}).denial == AclDenial::kNone);
  CHECK(check(user, {"set", "w1", "v", "GET"}).denial == AclDenial::kKey);  // SET ... GET reads too
  CHECK(check(user, {"incr", "k1"}).denial == AclDenial::kCommand);
  CHECK(check(user, {"select", "1"}).denial == AclDenial::kNone);
  CHECK(check(user, {"select", "2"}).denial == AclDenial::kCommand);
  CHECK(check(user, {"config", "get", "x"}).denial == AclDenial::kNone);
  CHECK(check(user, {"config", "set", "x", "y"}).denial == AclDenial::kCommand);
  CHECK(check(user, {"auth", "a", "b"}).denial == AclDenial::kNone);  // no-auth commands always pass
  AclVerdict verdict = check(user, {"rpoplpush", "r1", "w1"});
  CHECK(verdict.denial == AclDenial::kKey);  // r1 is popped: it needs write access
  CHECK(verdict.position == 1);
  CHECK(check(user, {"sort", "r1"}).denial == AclDenial::kNone);
  verdict = check(user, {"sort", "r1", "store", "x"});
  CHECK(verdict.denial == AclDenial::kKey);
  CHECK(verdict.position == 3);
  CHECK(check(user, {"publish", "ch1", "m"}).denial == AclDenial::kNone);
  verdict = check(user, {"publish", "zz", "m"});
  CHECK(verdict.denial == AclDenial::kChannel);
  CHECK(verdict.position == 1);
  CHECK(check(user, {"psubscribe", "ch*"}).denial == AclDenial::kNone);  // patterns compare literally
  CHECK(check(user, {"psubscribe", "ch1*"}).denial == AclDenial::kChannel);

  AclUser with_selectors = user_with({"~a*", "&c*", "+@all", "-flushall", "(~b* -@all +get)", "(&d* +publish ~*)"});
  CHECK(check(with_selectors, {"get", "b1"}).denial == AclDenial::kNone);
  CHECK(check(with_selectors, {"set", "b1", "x"}).denial == AclDenial::kKey);
  verdict = check(with_selectors, {"mget", "x1", "b1"});
  CHECK(verdict.denial == AclDenial::kKey);
  CHECK(verdict.position == 1);
  CHECK(check(with_selectors, {"flushall"}).denial == AclDenial::kCommand);
  CHECK(check(with_selectors, {"publish", "d1", "x"}).denial == AclDenial::kNone);
  CHECK(check(with_selectors, {"publish", "e1", "x"}).denial == AclDenial::kChannel);
  CHECK(check(with_selectors, {"spublish", "c1", "x"}).denial == AclDenial::kNone);  // shard channel: no key
}

TEST_CASE("selector arguments are merged like Redis") {
  std::vector<std::string> merged;
  size_t bad = 99;
  CHECK(acl_merge_selector_args({"on", "(~x", "+get)", "~y"}, &merged, &bad));
  CHECK(merged == std::vector<std::string>{"on", "(~x +get)", "~y"});
  CHECK(acl_merge_selector_args({"(~x", "(~y", "+get)"}, &merged, &bad));
  CHECK(merged == std::vector<std::string>{"(~y +get)"});
  CHECK(!acl_merge_selector_args({"on", "off", "(~x"}, &merged, &bad));
  CHECK(bad == 2);
}

TEST_CASE("config file user lines") {
  CHECK(acl_check_user_line({"user", "alice", "on", ">x", "+get"}, {}) == "");
  CHECK(acl_check_user_line({"user", "alice", "on", "+nosuch"}, {}) == "");  // reported at startup
  CHECK(acl_check_user_line({"user", "alice", "on", "foo"}, {}) == "Error in user declaration 'alice': Syntax error");
  CHECK(acl_check_user_line({"user", "alice", "off"}, {{"user", "alice", "on"}}) ==
        "Error in user declaration 'alice': Duplicate user found. A user can only be defined once in config files");
}

}  // namespace
}  // namespace rd
